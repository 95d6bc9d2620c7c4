package coordinator

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// TestWatchDeliversEachCommitUnderOneLease commits twice under one Lock: the
// nested writes borrow the lease, so both versions carry its token. The
// watcher delivers the first and then the second, the final content, although
// its token is the one already delivered.
func TestWatchDeliversEachCommitUnderOneLease(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "cfg", []byte("v0"), 0o644); err != nil {
				t.Fatal(err)
			}
			w := startWatch(t, c, "cfg", WatchInterval(50*time.Millisecond))
			var a Change
			err := c.Lock(ctx, "cfg", func(ctx context.Context, _ LeaseInfo) error {
				if err := c.WriteFile(ctx, "cfg", []byte("A"), 0o644); err != nil {
					return err
				}
				a = w.waitFor(t, 10*time.Second, `"A"`, func(ch Change) bool { return string(ch.Data) == "A" })
				return c.WriteFile(ctx, "cfg", []byte("B"), 0o644)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, c.Root()+"/cfg"); got != "B" {
				t.Fatalf("file = %q; want B", got)
			}
			b := w.waitFor(t, 10*time.Second, `the final version "B"`, func(ch Change) bool { return string(ch.Data) == "B" })
			if b.Token != a.Token {
				t.Errorf("\"B\" delivered with token %d; want the lease's token %d, as \"A\"", b.Token, a.Token)
			}
			if got := w.got(); len(got) != 2 {
				t.Errorf("delivered %s; want \"A\" then \"B\", once each", describe(got))
			}
		})
	}
}

// TestWatchInitialMarksAVisiblePendingVersion leaves the state of a holder
// that died between its rename and its committed record: the file shows its
// pending version, which is the current version (every fresh read returns it,
// the next holder promotes it). WatchInitial delivers it first, marked
// Initial.
func TestWatchInitialMarksAVisiblePendingVersion(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	fl, rec := lockRecord(t, c, ctx, "cfg")
	v := locking.Version{Token: rec.Floor.Token + 1, LeaseID: "gone/1/0123456789abcdef", SHA256: sha256.Sum256([]byte("v2")),
		Size: 2, Length: 2, Generation: rec.Committed.Generation + 1, Host: "gone", PID: 1, Time: time.Now().UTC()}
	if err := fl.WriteFloorPending(locking.Floor{Token: v.Token, LeaseID: v.LeaseID}, v); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "cfg"), "v2") // renamed; the holder died
	if err := fl.Unlock(); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadFile(ctx, "cfg"); err != nil || string(b) != "v2" {
		t.Fatalf("ReadFile = %q, %v; want the current version \"v2\"", b, err)
	}
	w := startWatch(t, c, "cfg", WatchInitial(), WatchInterval(50*time.Millisecond))
	first := w.waitFor(t, 10*time.Second, "the current version", func(Change) bool { return true })
	if string(first.Data) != "v2" || first.Token != v.Token || !first.Initial {
		t.Fatalf("first delivery: token %d %q initial=%v; want the current version %d \"v2\" with Initial set", first.Token, first.Data, first.Initial, v.Token)
	}
}
