//go:build linux

package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/locking"
)

// Two mounts of one directory whose flocks do not cross (two hosts on sshfs,
// or on NFS with local locks) and Redis: host A's transaction over q/a and
// q/b loses its lease on q/b while the fsync of its intent stalls (a network
// filesystem's fsync can take long; a Redis failover or a partition ends the
// lease meanwhile). Host B takes q/b and commits its own version: it finds no
// intent, so the transaction is not committed. The intent must then never
// become the commit point: A's transaction fails as not committed (lease
// lost or fenced), and B's committed q/b is neither replaced by A's staged
// file nor left beside half of A's transaction.
func TestTxIntentNotCommittedAfterAnotherHostTookAKeyDuringItsFsync(t *testing.T) {
	r := needRedis(t)
	backing, ma, a, b := faultHosts(t)
	ctx := ctxT(t, time.Minute)
	names := []string{"q/a", "q/b"}
	if err := a.Tx(ctx, namedTxFiles("old", names...)); err != nil {
		t.Fatal(err)
	}

	// A's intent fsync waits until host B has committed (at most 20 s).
	stalled, resume := make(chan struct{}, 1), make(chan struct{})
	resumed := false
	defer func() {
		if !resumed {
			close(resume)
		}
	}()
	ma.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: txDir + "/*" + intentTempSuffix, Match: func(string) bool {
		select {
		case stalled <- struct{}{}:
		default:
		}
		select {
		case <-resume:
		case <-time.After(20 * time.Second):
		}
		return false
	}})
	t.Cleanup(ma.Clear)

	done := make(chan error, 1)
	go func() { done <- a.Tx(ctx, namedTxFiles("new", names...)) }()
	select {
	case <-stalled:
	case err := <-done:
		t.Fatalf("host A's transaction ended before its intent's fsync: %v", err)
	case <-ctx.Done():
		t.Fatal("host A's transaction never reached its intent's fsync")
	}

	// A's lease on q/b ends (as after a failover that lost it).
	if err := r.Client(t).Del(ctx, locking.RedisKeys(a.VolumeID(), "q/b").Lock).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(ctx, "q/b", []byte("q/b=B"), 0o644); err != nil {
		t.Fatalf("host B's WriteFile(q/b) = %v", err)
	}
	resumed = true
	close(resume)

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("host A's transaction did not return")
	}
	if !errors.Is(err, locking.ErrLeaseLost) && !errors.Is(err, locking.ErrFenced) {
		t.Errorf("host A's transaction = %v; want not committed (ErrLeaseLost or ErrFenced)", err)
	}
	if got := readFile(t, filepath.Join(backing, "q/b")); got != "q/b=B" {
		t.Errorf("q/b = %q; want host B's committed %q", got, "q/b=B")
	}
	if got := readFile(t, filepath.Join(backing, "q/a")); got != "q/a=old" {
		t.Errorf("q/a = %q; want %q (A's transaction not committed)", got, "q/a=old")
	}
	if n := txIntents(t, backing); n != 0 {
		t.Errorf("%d intents left; want none", n)
	}
	// Host B's next read of q/b returns its own version at once.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if got, err := b.ReadFile(rctx, "q/b"); err != nil || string(got) != "q/b=B" {
		t.Errorf("host B's ReadFile(q/b) = %q, %v; want %q", got, err, "q/b=B")
	}
}
