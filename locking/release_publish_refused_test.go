package locking

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// recordedLogs is a slog.Handler keeping its records for a test to read.
type recordedLogs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordedLogs) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordedLogs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordedLogs) WithGroup(string) slog.Handler            { return h }
func (h *recordedLogs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}

// matching returns the records whose message contains s, each as its
// message followed by its attributes.
func (h *recordedLogs) matching(s string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if !strings.Contains(r.Message, s) {
			continue
		}
		line := r.Message
		r.Attrs(func(a slog.Attr) bool {
			line += " " + a.Key + "=" + a.Value.String()
			return true
		})
		out = append(out, line)
	}
	return out
}

// noPublishLocker returns a locker (logging to the returned handler) whose
// client logs in as an ACL user refused PUBLISH, and an admin client.
func noPublishLocker(t *testing.T, ctx context.Context) (*RedisLocker, *recordedLogs, *redis.Client) {
	t.Helper()
	_, c, admin := aclLocker(t, ctx, "nopub", "-publish")
	if err := c.Publish(ctx, "sw-test-channel", "x").Err(); err == nil {
		t.Fatal("PUBLISH allowed under the ACL; the test needs it refused")
	}
	logs := &recordedLogs{}
	l := NewRedisLocker(c, uniqueVolume(t), Logger(slog.New(logs)))
	t.Cleanup(func() { l.Close() })
	return l, logs, admin
}

// TestReleaseWithPublishRefused: under an ACL that refuses PUBLISH, a release
// carrying a committed version stores it and frees the lease (the change
// event cannot go out), so the next Acquire gets the lease at once instead of
// after the TTL; the refusal is logged, once per locker.
func TestReleaseWithPublishRefused(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	l, logs, _ := noPublishLocker(t, ctx)
	const key, ttl = "a/b.json", 5 * time.Second

	le, err := l.Acquire(ctx, key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	v := Version{Token: le.Token(), LeaseID: le.ID(), SHA256: [32]byte{4, 5, 6}, Size: 7, Length: 7, Host: "h", PID: 9, Time: time.Unix(1700000000, 0).UTC()}
	if err := le.Release(ctx, &v, key); err != nil {
		t.Errorf("Release with a committed version under an ACL without PUBLISH: %v; want nil (the lease is freed, only the event is lost)", err)
	}

	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, ttl+time.Second)
	defer cancel()
	le2, err := l.Acquire(actx, key, ttl)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Acquire after the release: %v after %v; want the lease", err, took)
	}
	if took > 2*time.Second {
		t.Errorf("Acquire after the release took %v; want well within the %v TTL (the release must free the lease)", took, ttl)
	}
	if got, ok := le2.Committed(); !ok || got != v {
		t.Errorf("Committed after the release = %+v, %v; want %+v", got, ok, v)
	}
	// A second refusal is not logged again.
	v2 := v
	v2.Token, v2.LeaseID = le2.Token(), le2.ID()
	if err := le2.Release(ctx, &v2, key); err != nil {
		t.Errorf("second Release: %v; want nil", err)
	}
	said := logs.matching("PUBLISH")
	if len(said) != 1 {
		t.Fatalf("log lines about the refused PUBLISH: %q; want exactly one", said)
	}
	// Redis 7.0 says "ERR The user executing the script can't run this
	// command or subcommand"; later versions NOPERM.
	if !strings.Contains(said[0], "step=release") || !strings.Contains(said[0], key) ||
		!strings.Contains(said[0], "can't run") && !strings.Contains(said[0], "NOPERM") {
		t.Errorf("log line %q; want the step, the key and Redis's refusal", said[0])
	}
}

// TestHandoffWithPublishRefused: a release that would hand the lease to the
// first waiter in line (its locker listens) cannot tell it when PUBLISH is
// refused; the lease must then not be handed over, or it would stay with a
// waiter that does not know it holds it. The waiter takes the lease by its
// own retry: at once when that retry comes right after the release (the one
// it makes once its subscription is confirmed), else after its wait.
func TestHandoffWithPublishRefused(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	l, _, admin := noPublishLocker(t, ctx)
	const key, ttl = "k", 4 * time.Second

	holder, err := l.Acquire(ctx, key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Lease, 1)
	go func() {
		le, err := l.Acquire(ctx, key, ttl)
		if err != nil {
			t.Errorf("waiter Acquire: %v", err)
		}
		got <- le
	}()
	waitUntil(t, 5*time.Second, "the waiter is in line", func() bool {
		n, _ := admin.ZCard(ctx, l.Keys(key).Queue).Result()
		return n == 1
	})
	waitUntil(t, 5*time.Second, "the waiter's subscription is confirmed", func() bool {
		n, ok := hubWaiters(l, wakeChannel(l, key))
		return n == 1 && ok
	})
	released := time.Now()
	if err := holder.Release(ctx, nil, key); err != nil {
		t.Errorf("Release with a waiter in line under an ACL without PUBLISH: %v; want nil", err)
	}
	v, gerr := admin.Get(ctx, l.Keys(key).Lock).Result()
	select {
	case le := <-got:
		if le == nil {
			t.Fatal("waiter's Acquire failed")
		}
		// The key may already hold the waiter's lease, taken by its own
		// retry right after the release; a lease handed over would be
		// learnt of only at the end of the waiter's wait (the holder's TTL).
		if took := time.Since(released); gerr != redis.Nil && (v != le.ID() || took > ttl/2) {
			t.Errorf("lock right after the release = %q (%v); the waiter got %q %v after it; want none, or the waiter's own at once: the lease was handed to a waiter that was not told",
				v, gerr, le.ID(), took.Round(time.Millisecond))
		}
		if le.Token() <= holder.Token() {
			t.Errorf("waiter's token %d; want above the holder's %d", le.Token(), holder.Token())
		}
		le.Release(context.Background(), nil, key)
	case <-time.After(ttl + 3*time.Second):
		t.Fatalf("waiter did not get the lease within %v of the release (the holder's TTL is %v)", ttl+3*time.Second, ttl)
	}
}
