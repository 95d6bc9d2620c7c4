package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestRenamedPendingPromotedBeforeAWrite: a key whose file holds its record's
// pending version (a dead holder renamed it but never wrote committed; or the
// holder of another key completed the transaction that wrote it, which cannot
// touch this key's record) is next taken by a write that does not read the
// file first, and that write is killed before its rename. The file is still
// sharedwrite's own version, so a reader gets it at once, Strict included.
// Before, that write replaced the only record of the version with its own
// pending one: a Strict read failed with ErrStaleView after the whole window,
// and a plain read waited it out and adopted the file as edited outside.
func TestRenamedPendingPromotedBeforeAWrite(t *testing.T) {
	for _, m := range modes {
		for _, how := range []string{"write", "tx"} {
			t.Run(string(m)+"/"+how, func(t *testing.T) {
				root := t.TempDir()
				window := 1500 * time.Millisecond
				c := open(t, m, root, Strict(), WithStaleWindow(window))
				env := []string{"SW_ROOT=" + root, "SW_NAME=s/c"}
				if m == rds {
					env = append(env, "SW_REDIS="+needRedis(t).URL(), "SW_TTL=1s")
				}
				ctx := ctxT(t, 60*time.Second)
				if err := c.Tx(ctx, namedTxFiles("old", "s/a", "s/c")); err != nil {
					t.Fatal(err)
				}
				want := "renamed"
				if how == "tx" {
					// Killed after its first rename (s/a); the Update of s/a
					// completes it, renaming s/c's staged file too.
					crashTx(t, root, 0, []string{"s/a", "s/c"}, env...)
					if err := c.Update(ctx, "s/a", func(old []byte, _ bool) ([]byte, error) { return old, nil }); err != nil {
						t.Fatalf("Update(s/a): %v", err)
					}
					want = "s/c=new"
				} else if s := exitStatus(child(t, "crash-after-rename", env...).Run()); s != -1 {
					t.Fatalf("the writer exited %d; want it killed after its rename", s)
				}
				if got := readFile(t, filepath.Join(root, "s/c")); got != want {
					t.Fatalf("s/c = %q; want %q", got, want)
				}
				rec, err := c.peekRecord("s/c")
				if err != nil {
					t.Fatal(err)
				}
				if rec.Pending.Token <= rec.Committed.Token {
					t.Fatalf("s/c's record: committed token %d, pending %d; want a pending version left above committed", rec.Committed.Token, rec.Pending.Token)
				}
				crashAtCommit(t, m, root, "write", "s/c")
				if got := readFile(t, filepath.Join(root, "s/c")); got != want {
					t.Fatalf("s/c = %q after the killed write; want still %q", got, want)
				}
				data, err := c.ReadFile(ctx, "s/c")
				if err != nil || string(data) != want {
					t.Fatalf("Strict ReadFile(s/c) = %q, %v (ErrStaleView: %v); want %q", data, err, errors.Is(err, ErrStaleView), want)
				}
				c2 := open(t, m, root, WithStaleWindow(window))
				start := time.Now()
				data, err = c2.ReadFile(ctx, "s/c")
				if d := time.Since(start); err != nil || string(data) != want || d >= window {
					t.Fatalf("ReadFile(s/c) = %q, %v after %v; want %q before the %v window", data, err, d.Round(time.Millisecond), want, window)
				}
			})
		}
	}
}

// TestFailedWriteOverALogIsNotPromoted: a log holds "crashed"; a WriteFile of
// those same bytes is killed after its pending version, before its rename.
// The file holds that pending version's content but was never renamed over,
// and the log's committed version (a length) holds too: the next operation
// (here a Lock that commits nothing) must leave the log's record alone.
// Before, it promoted the whole-file version, bumping the generation (every
// appender reopens) and handing watchers a version that was never committed.
func TestFailedWriteOverALogIsNotPromoted(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 60*time.Second)
			a := c.Appender("app.log")
			if err := a.Append(ctx, []byte("crashed")); err != nil {
				t.Fatal(err)
			}
			a.Close()
			before, err := c.peekRecord("app.log")
			if err != nil {
				t.Fatal(err)
			}
			crashAtCommit(t, m, root, "write", "app.log")
			if err := c.Lock(ctx, "app.log", func(context.Context, LeaseInfo) error { return nil }); err != nil {
				t.Fatal(err)
			}
			after, err := c.peekRecord("app.log")
			if err != nil {
				t.Fatal(err)
			}
			if !sameLog(after.Committed, before.Committed) {
				t.Errorf("committed after the Lock: token %d generation %d size %d; want the log's version kept (token %d generation %d size %d)",
					after.Committed.Token, after.Committed.Generation, after.Committed.Size,
					before.Committed.Token, before.Committed.Generation, before.Committed.Size)
			}
		})
	}
}
