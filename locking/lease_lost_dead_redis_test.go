package locking

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A lease whose Redis died (refusing connections from then on) is lost when
// its validity runs out, and the loss says why the refreshes did not get
// through: the refusal, not only that the validity ran out.
func TestLeaseLostToDeadRedisSaysWhy(t *testing.T) {
	r := testrig.StartRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	defer l.Close()
	const ttl = 1500 * time.Millisecond
	le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Abandon()
	r.Kill()
	select {
	case <-le.Done():
	case <-time.After(ttl + 2*time.Second):
		t.Fatalf("Done not closed %v after Redis was killed; want it closed once the validity (TTL %v) ran out", ttl+2*time.Second, ttl)
	}
	err = le.Err()
	if !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Err = %v; want ErrLeaseLost", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Err = %q; want it to say why the refreshes failed (connection refused)", err)
	}
}
