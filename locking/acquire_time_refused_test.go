package locking

import (
	"strings"
	"testing"
	"time"
)

// TestContendedAcquireNamesRefusedTime: the lease scripts read Redis's clock
// (TIME) once a key is contended. TIME is in no ACL category but @fast, so a
// user granted +@read +@write +@scripting +@pubsub, as least privilege
// suggests, may not run it: a contended Acquire then fails at once, and its
// error must name TIME, not only say that a script could not run "this
// command". Nothing is left behind: the holder keeps its lease, no place in
// line stays.
func TestContendedAcquireNamesRefusedTime(t *testing.T) {
	ctx := ctxTimeout(t, 20*time.Second)
	l, c, admin := aclLocker(t, ctx, "notime", "-time")
	if err := c.Time(ctx).Err(); err == nil {
		t.Fatal("TIME allowed under the ACL; the test needs it refused")
	}
	const key, ttl = "k", 5 * time.Second
	holder, err := l.Acquire(ctx, key, ttl)
	if err != nil {
		t.Fatalf("uncontended Acquire: %v", err)
	}
	defer holder.Release(ctx, nil, key)

	_, err = l.Acquire(ctxTimeout(t, 3*time.Second), key, ttl)
	if err == nil {
		t.Fatal("contended Acquire succeeded under an ACL refusing TIME; want a refusal")
	}
	t.Logf("contended Acquire: %v", err)
	if msg := err.Error(); !strings.Contains(msg, "TIME") || !strings.Contains(msg, "acquire") {
		t.Errorf("contended Acquire: %q; want the step and the refused command TIME named", msg)
	}
	if n, err := admin.ZCard(ctx, l.Keys(key).Queue).Result(); err != nil || n != 0 {
		t.Errorf("places in line after the refusal: %d, %v; want 0", n, err)
	}
	if err := holder.Refresh(ctx); err != nil {
		t.Errorf("holder's Refresh after the refused Acquire: %v; want its lease kept", err)
	}
}
