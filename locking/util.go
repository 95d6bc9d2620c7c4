package locking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "unknown"
	}
	return strings.NewReplacer(".", "-", "/", "-").Replace(h)
}

// leasePrefix is "<host>/<pid>", how the lease ids of this process begin.
// A RedisLocker adds random hex digits of its own (RedisLocker.idPrefix), so
// that each locker of a process has its own release channels
// (Keys.WakeChannel).
func leasePrefix(host string) string { return host + "/" + pid }

// newLeaseID returns prefix + "/<16 random hex>", so that a waiter can name
// the holder.
func newLeaseID(prefix string) string { return prefix + "/" + randomHex(8) }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := crand(b); err != nil {
		panic("locking: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// pid is this process's id in lease ids, read once: os.Getpid is a system
// call, and a lease id is made on every Acquire.
var pid = strconv.Itoa(os.Getpid())

var crand = rand.Read

// jitter returns d plus up to 10% (at least up to 1 ms) of random extra.
func jitter(d time.Duration) time.Duration {
	j := d / 10
	if j < time.Millisecond {
		j = time.Millisecond
	}
	return d + time.Duration(mrand.Int64N(int64(j)))
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

func quoteName(s string) string { return quote.Name(s) }
