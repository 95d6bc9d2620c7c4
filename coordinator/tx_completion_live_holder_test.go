package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// TestTxCompletionLeavesAnotherKeyToItsLiveHolder: an operation on q/a
// completes a transaction over q/a and q/b that a dead holder left, and
// then takes q/b for a moment to publish its change event while it holds
// q/a. The dead holder's lease on q/b outlives the one on q/a, and the
// completion waits it out; but a live holder that takes q/b when that lease
// ends, and waits for q/a in turn (a Lock on q/b whose function updates
// q/a), is not waited for: the completion leaves the event to it, and the
// operation on q/a returns soon after the dead lease ended, not when the
// completion's wait (up to a lease TTL) runs out.
func TestTxCompletionLeavesAnotherKeyToItsLiveHolder(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	const ttl = 20 * time.Second // the completion's wait for the dead lease is up to this long
	c := open(t, rds, root, WithLeaseTTL(ttl))
	ctx := ctxT(t, 2*time.Minute)
	names := []string{"q/a", "q/b"}
	if err := c.Tx(ctx, namedTxFiles("old", names...)); err != nil {
		t.Fatal(err)
	}
	crashTx(t, root, 0, names, "SW_REDIS="+r.URL(), "SW_TTL=1s")
	rec, err := c.peekRecord("q/b")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Pending.Intent == "" {
		t.Fatalf("pending record of q/b after the crash: %+v; want the transaction's", rec.Pending)
	}
	cl := r.Client(t)
	keysB := locking.RedisKeys(c.VolumeID(), "q/b")
	const outlive = 3 * time.Second
	if err := cl.Set(ctx, keysB.Lock, rec.Pending.LeaseID, outlive).Err(); err != nil {
		t.Fatal(err)
	}

	q := open(t, rds, root, WithLeaseTTL(ttl))
	lockDone := make(chan error, 1)
	go func() {
		lockDone <- q.Lock(ctx, "q/b", func(ctx context.Context, _ LeaseInfo) error {
			return q.Update(ctx, "q/a", func(old []byte, _ bool) ([]byte, error) {
				return append(old, '+'), nil
			})
		})
	}()
	for n := int64(0); n == 0; {
		select {
		case err := <-lockDone:
			t.Fatalf("Lock(q/b) ended (%v) before it waited for the dead lease", err)
		case <-time.After(10 * time.Millisecond):
		}
		if n, err = cl.ZCard(ctx, keysB.Queue).Result(); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	if err := c.WriteFile(ctx, "q/a", []byte("mine"), 0o644); err != nil {
		t.Fatalf("WriteFile(q/a) = %v", err)
	}
	took := time.Since(start)
	t.Logf("WriteFile(q/a) took %v", took.Round(time.Millisecond))
	if bound := outlive + 5*time.Second; took > bound {
		t.Errorf("WriteFile(q/a) took %v; want within %v (the dead lease on q/b lasted %v; the live holder that took q/b then was waited for)", took.Round(time.Millisecond), bound, outlive)
	}
	if err := <-lockDone; err != nil {
		t.Errorf("Lock(q/b) with an Update of q/a = %v", err)
	}
	if got := readFile(t, root+"/q/b"); got != "q/b=new" {
		t.Errorf("q/b = %q; want the transaction's q/b=new", got)
	}
}
