//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The intent is a transaction's commit point: every lease must still have the
// commit margin left when it is written, not only when each key's floor and
// pending were written before it. Redis is paused so that no refresh
// succeeds: the leases' validity drops below the margin without running out.
func TestTxIntentNeedsCommitMargin(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	r, root, cl := ownRedisVolume(t, ctx)
	const ttl, margin = 3 * time.Second, 1500 * time.Millisecond
	c, err := Open(ctx, root, WithRedis(cl), WithLeaseTTL(ttl), WithCommitMargin(margin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	// The last refresh was at most TTL/3 (+ a round trip) ago when the hook
	// runs; after a pause of `margin` the validity left is between ~0.4 s and
	// TTL − margin: below the margin, above zero.
	txBeforeIntent = func() error {
		if err := r.Signal(syscall.SIGSTOP); err != nil {
			return err
		}
		time.Sleep(margin)
		return nil
	}
	t.Cleanup(func() {
		txBeforeIntent = nil
		r.Signal(syscall.SIGCONT)
	})
	err = c.Tx(ctx, []TxFile{{Name: "a", Data: []byte("a")}, {Name: "b", Data: []byte("b")}})
	r.Signal(syscall.SIGCONT)
	if !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Tx whose leases fell below the commit margin before the intent = %v; want ErrLeaseLost", err)
	}
	for _, n := range []string{"a", "b"} {
		if _, serr := os.Stat(filepath.Join(root, n)); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s after the refused transaction: %v; want it absent", n, serr)
		}
	}
}
