//go:build linux

package locking

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A lease held through a client whose calls ctx does not bound (go-redis's
// default, ContextTimeoutEnabled off; here with a read timeout longer than
// the lease's TTL) is reported lost
// within its validity when Redis stops answering (the server stopped with
// SIGSTOP: it accepts connections and never replies), not when the refresh
// the watchdog sent gives up on the client's read timeout.
func TestLeaseLostWithinValidityWhenRedisStopsAnswering(t *testing.T) {
	r := testrig.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	l := NewRedisLocker(c, uniqueVolume(t))
	const ttl = time.Second
	start := time.Now()
	le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Abandon()
	resume := pauseRedis(t, r)
	defer resume()
	select {
	case <-le.Done():
	case <-time.After(ttl + time.Second):
		t.Fatalf("Done not closed %v after the lease (TTL %v) was taken with Redis stopped; want it closed within the validity", time.Since(start).Round(time.Millisecond), ttl)
	}
	if !errors.Is(le.Err(), ErrLeaseLost) {
		t.Errorf("Err = %v; want ErrLeaseLost", le.Err())
	}
}
