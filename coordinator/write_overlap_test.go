package coordinator

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// setOverlap makes the next commits of c write floor and pending early
// (alongside the temp's fsync) or in the pre-commit hook.
func setOverlap(c *Coordinator, on bool) {
	if on {
		c.recordSync.Store(int64(time.Hour))
	} else {
		c.recordSync.Store(0)
	}
}

// TestWriteFileRecord checks the lock record after WriteFile and a streamed
// Create, with floor and pending written early and in the hook: committed is
// the new content, pending the same version, the floor its token.
func TestWriteFileRecord(t *testing.T) {
	for _, m := range modes {
		for _, overlap := range []bool{false, true} {
			name := string(m) + "/in-hook"
			if overlap {
				name = string(m) + "/early"
			}
			t.Run(name, func(t *testing.T) {
				c := open(t, m, t.TempDir())
				ctx := ctxT(t, 30*time.Second)
				check := func(key, data string) {
					t.Helper()
					rec, err := c.peekRecord(key)
					if err != nil {
						t.Fatal(err)
					}
					if got, want := rec.Committed.SHA256, sha256.Sum256([]byte(data)); got != want || rec.Committed.Size != int64(len(data)) {
						t.Fatalf("%s: committed sha %x size %d; want %x %d", key, got[:4], rec.Committed.Size, want[:4], len(data))
					}
					if !sameVersion(rec.Pending, rec.Committed) {
						t.Fatalf("%s: pending %+v; want committed %+v", key, rec.Pending, rec.Committed)
					}
					if rec.Floor.Token != rec.Committed.Token || rec.Floor.LeaseID != rec.Committed.LeaseID {
						t.Fatalf("%s: floor %+v; want the committed token %d", key, rec.Floor, rec.Committed.Token)
					}
				}
				for i, data := range []string{"one", "two, longer"} {
					setOverlap(c, overlap)
					if err := c.WriteFile(ctx, "f", []byte(data), 0o644); err != nil {
						t.Fatalf("WriteFile %d: %v", i, err)
					}
					check("f", data)
					setOverlap(c, overlap)
					f, err := c.Create(ctx, "g", 0o644)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.Write([]byte(data)); err != nil {
						t.Fatal(err)
					}
					if err := f.Commit(ctx); err != nil {
						t.Fatalf("Commit %d: %v", i, err)
					}
					check("g", data)
				}
			})
		}
	}
}

// TestWriteFileFencedAfterEarlyRecord raises the floor (as another host whose
// file lock this one cannot see would) after this write's floor and pending
// reached the volume and before its rename: the commit must be refused.
func TestWriteFileFencedAfterEarlyRecord(t *testing.T) {
	for _, m := range modes {
		for _, overlap := range []bool{false, true} {
			name := string(m) + "/in-hook"
			if overlap {
				name = string(m) + "/early"
			}
			t.Run(name, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				ctx := ctxT(t, 30*time.Second)
				if err := c.WriteFile(ctx, "f", []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				before, err := c.peekRecord("f")
				if err != nil {
					t.Fatal(err)
				}
				raise := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
					// Runs before the coordinator's hook. With the early
					// write, wait until its floor is on the volume first.
					for overlap {
						rec, err := c.peekRecord("f")
						if err != nil {
							return err
						}
						if rec.Floor.Token > before.Floor.Token {
							break
						}
						if ctx.Err() != nil {
							return ctx.Err()
						}
						time.Sleep(time.Millisecond)
					}
					return raiseFloorElsewhere(t, root, "f", 10)
				})
				setOverlap(c, overlap)
				err = c.WriteFile(ctx, "f", []byte("new"), 0o644, raise)
				if !errors.Is(err, ErrFenced) {
					t.Fatalf("WriteFile = %v; want ErrFenced", err)
				}
				if got := readFile(t, filepath.Join(root, "f")); got != "old" {
					t.Fatalf("f = %q; want old", got)
				}
			})
		}
	}
}

// The early start follows the volume's usual record fsync time, not its last
// one: one slow write among fast ones (a tmpfs on a busy machine) does not
// switch the next writes to the early start, and a volume whose fsyncs take
// time switches to it within a few writes.
func TestRecordSyncAverage(t *testing.T) {
	c := &Coordinator{}
	c.noteRecordSync(5 * time.Microsecond)
	for range 20 {
		c.noteRecordSync(5 * time.Microsecond)
	}
	c.noteRecordSync(300 * time.Microsecond)
	if c.overlapRecord() {
		t.Errorf("one 300 µs write after 5 µs ones switched to the early start (average %v)", time.Duration(c.recordSync.Load()))
	}
	for i := range 8 {
		c.noteRecordSync(300 * time.Microsecond)
		if c.overlapRecord() {
			t.Logf("early start after %d more slow writes", i+1)
			return
		}
	}
	t.Errorf("nine 300 µs writes did not switch to the early start (average %v)", time.Duration(c.recordSync.Load()))
}
