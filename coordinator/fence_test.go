package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

var _ = context.Background

// A commit whose record floor was raised by another lease meanwhile is
// refused with ErrFenced and changes nothing.
func TestFencedCommit(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			tr := newTelRig(t)
			c := open(t, m, root, tr.opts()...)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "f", []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) {
				// Another host, whose file lock this one cannot see, has begun
				// a commit with a newer token: its record lands on the volume.
				return []byte("new"), raiseFloorElsewhere(t, root, "f", 10)
			})
			if err == nil {
				t.Fatal("Update committed although fenced")
			}
			var cf *CommandFailedError
			if errors.As(err, &cf) {
				t.Fatalf("Update: %v", err)
			}
			if !errors.Is(err, ErrFenced) || ExitCode(err) != ExitLeaseLost {
				t.Fatalf("Update = %v (exit %d); want ErrFenced, exit 4", err, ExitCode(err))
			}
			if got := readFile(t, filepath.Join(root, "f")); got != "old" {
				t.Fatalf("f = %q; want old", got)
			}
			if got := tr.counter(t, MetricFenced); got != 1 {
				t.Fatalf("%s = %d; want 1", MetricFenced, got)
			}
			if s := tr.named("sharedwrite.update"); len(s) != 1 || s[0].Status().Code != 1+0 && s[0].Status().Description == "" {
				t.Fatalf("update spans = %d; want 1 with an error status", len(s))
			} else if o, _ := attr(s[0], string(AttrOutcome)); o != OutcomeNotCommitted {
				t.Fatalf("outcome = %q; want %q", o, OutcomeNotCommitted)
			}
			entries, _ := os.ReadDir(root)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Fatalf("temp %s left behind", e.Name())
				}
			}
		})
	}
}

// After a Redis restart the fence counter starts again at 0; the volume's
// floor makes the next holder raise it, so its token exceeds every earlier one.
func TestFloorRaisedAfterRedisRestart(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	r, root, cl := ownRedisVolume(t, ctx)
	tr := newTelRig(t)
	c, err := Open(ctx, root, append(tr.opts(), WithRedis(cl))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if err := c.WriteFile(ctx, "f", []byte{byte('a' + i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, err := c.peekRecord("f")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := tr.counter(t, MetricFloorRaised); got != 0 {
		t.Fatalf("%s before restart = %d; want 0", MetricFloorRaised, got)
	}
	var werr error
	for i := 0; i < 50; i++ { // the client reconnects
		if werr = c.WriteFile(ctx, "f", []byte("after"), 0o644); werr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if werr != nil {
		t.Fatal(werr)
	}
	after, err := c.peekRecord("f")
	if err != nil {
		t.Fatal(err)
	}
	if after.Committed.Token <= before.Committed.Token || after.Floor.Token <= before.Floor.Token {
		t.Fatalf("token after restart %d (floor %d); want above %d", after.Committed.Token, after.Floor.Token, before.Committed.Token)
	}
	if got := tr.counter(t, MetricFloorRaised); got != 1 {
		t.Fatalf("%s = %d; want 1", MetricFloorRaised, got)
	}
	raised := 0
	for _, s := range tr.named("floor") {
		if v, _ := attr(s, string(AttrRaised)); v == "true" {
			raised++
		}
	}
	if raised != 1 {
		t.Fatalf("floor spans with raised=true: %d; want 1", raised)
	}
	_ = context.Background
}

// raiseFloorElsewhere writes key's lock record as another holder would: the
// floor raised by n under another lease.
func raiseFloorElsewhere(t *testing.T, root, key string, n uint64) error {
	return rewriteRecordElsewhere(t, root, key, func(rec *locking.Record) {
		tok := rec.Floor.Token + n
		rec.Floor = locking.Floor{Token: tok, LeaseID: "otherhost/1/ff"}
		rec.Pending = locking.Version{Token: tok, LeaseID: "otherhost/1/ff"}
	})
}

// rewriteRecordElsewhere plays another host, whose file lock this one cannot
// see: it reads key's lock record on the volume (which must exist), lets edit
// change it, builds the result in a scratch lock directory and copies it over
// the volume's lock file without taking that file's lock.
func rewriteRecordElsewhere(t *testing.T, root, key string, edit func(*locking.Record)) error {
	t.Helper()
	scratch, err := os.OpenRoot(t.TempDir())
	if err != nil {
		return err
	}
	defer scratch.Close()
	ld, err := locking.OpenLockDir(scratch)
	if err != nil {
		return err
	}
	defer ld.Close()
	fl, err := ld.Open(key)
	if err != nil {
		return err
	}
	defer fl.Close()
	if err := fl.Lock(context.Background()); err != nil {
		return err
	}
	ours, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer ours.Close()
	ourDir, err := locking.OpenLockDir(ours)
	if err != nil {
		return err
	}
	defer ourDir.Close()
	peek, err := ourDir.OpenExisting(key)
	if err != nil {
		return err
	}
	rec, err := peek.ReadRecord()
	peek.Close()
	if err != nil {
		return err
	}
	edit(&rec)
	if err := fl.WriteFloorPending(rec.Floor, rec.Pending); err != nil {
		return err
	}
	if err := fl.WriteCommitted(rec.Committed); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(scratch.Name(), filepath.FromSlash(locking.LockPath(key))))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(locking.LockPath(key))), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(b, 0)
	return err
}
