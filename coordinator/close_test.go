package coordinator

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// hubReaders counts the goroutines reading a Redis locker's pub/sub
// connection.
func hubReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "wakeHub).receive")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestCloseStopsLockerPubSub: Close of a coordinator opened with the caller's
// Redis client closes the locker's pub/sub connection and stops its reader
// (a contended acquire starts them), and leaves the caller's client usable.
func TestCloseStopsLockerPubSub(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	holder := open(t, rds, root)
	cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	c, err := Open(context.Background(), root, WithRedis(cl))
	if err != nil {
		t.Fatal(err)
	}
	before := hubReaders()
	ctx := ctxT(t, time.Minute)
	err = holder.Lock(ctx, "k", func(context.Context, LeaseInfo) error {
		wctx, cancel := context.WithTimeout(ctx, notObtainedWait(rds))
		defer cancel()
		return c.WriteFile(wctx, "k", []byte("x"), 0o644)
	})
	if ExitCode(err) != ExitNotObtained {
		t.Fatalf("contended write: got %v; want not obtained", err)
	}
	if got := hubReaders(); got <= before {
		t.Fatalf("pub/sub readers after a contended acquire: %d; want more than %d", got, before)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for hubReaders() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := hubReaders(); got > before {
		t.Errorf("pub/sub readers 10s after Close: %d; want %d", got, before)
	}
	if err := cl.Ping(ctx).Err(); err != nil && !errors.Is(err, redis.ErrClosed) {
		t.Errorf("caller's client after Close: %v", err)
	} else if err != nil {
		t.Errorf("caller's client was closed by Close: %v", err)
	}
}
