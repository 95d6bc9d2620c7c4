package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// Operations nested in a Lock function run in the Lock's place in the gate: a
// Move on the held key (which borrows the held lease and lock) succeeds with
// WithLimits(1, 0), where taking a second place would fail with ErrQueueFull
// (or, with WaitWhenFull, wait for the Lock itself).
func TestNestedMoveRunsInTheLocksPlace(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 0))
	ctx := ctxT(t, 30*time.Second)
	src := filepath.Join(t.TempDir(), "spool")
	mustWrite(t, src, "moved")
	var wErr, mErr error
	err := c.Lock(ctx, "dst", func(ctx context.Context, _ LeaseInfo) error {
		wErr = c.WriteFile(ctx, "dst", []byte("written"), 0o644)
		mErr = c.Move(ctx, src, "dst")
		return nil
	})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if wErr != nil {
		t.Fatalf("nested WriteFile (control): %v", wErr)
	}
	if mErr != nil {
		t.Fatalf("nested Move on the held key = %v; want nil (the held key is borrowed; no second gate slot)", mErr)
	}
}

// PublishDir prunes only the version directories it made: a file of the
// version pattern (.<name>.v1, written through the coordinator, a key with its
// own record) is never deleted by publishing <name>.
func TestPublishPruneSparesNonVersions(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, ".cfg.v1", []byte("a user's file"), 0o644); err != nil {
				t.Fatal(err)
			}
			fill := func(dir string) error {
				return os.WriteFile(filepath.Join(dir, "k"), []byte("v"), 0o644)
			}
			for range 2 {
				if err := c.PublishDir(ctx, "cfg", fill, 1); err != nil {
					t.Fatalf("PublishDir: %v", err)
				}
			}
			if _, err := os.Lstat(filepath.Join(root, ".cfg.v1")); err != nil {
				rec, _ := c.peekRecord(".cfg.v1")
				t.Fatalf("the file .cfg.v1 (not a version PublishDir made) was pruned: %v; its record still says committed=%+v deleted=%v",
					err, rec.Committed.Size, rec.Committed.Deleted)
			}
			if _, err := c.ReadFile(ctx, ".cfg.v1"); err != nil && errors.Is(err, os.ErrNotExist) {
				t.Fatalf("ReadFile(.cfg.v1) after the publish: %v", err)
			}
		})
	}
}

// RepairRecord repairs the corrupt lock record of a name PublishDir manages
// (the symlink's own key, not the version directory's it resolves to), after
// which the name can be published again.
func TestRepairRecordOfPublishedName(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			dir := t.TempDir()
			c := open(t, m, dir)
			ctx := ctxT(t, 30*time.Second)
			fill := func(d string) error { return os.WriteFile(filepath.Join(d, "k"), []byte("v"), 0o644) }
			if err := c.PublishDir(ctx, "cfg", fill, 1); err != nil {
				t.Fatal(err)
			}
			lockFile := filepath.Join(dir, locking.LockPath("cfg"))
			b, err := os.ReadFile(lockFile)
			if err != nil {
				t.Fatal(err)
			}
			b[10] ^= 0xff
			if err := os.WriteFile(lockFile, b, 0o660); err != nil {
				t.Fatal(err)
			}
			if err := c.PublishDir(ctx, "cfg", fill, 1); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("PublishDir over a corrupt record = %v; want ErrCorruptRecord", err)
			}
			rep, err := c.RepairRecord(ctx, "cfg")
			if err != nil || !rep.Repaired {
				t.Errorf("RepairRecord(cfg) = Repaired %v (problem %q), err %v; want the corrupt record of the published name repaired", rep.Repaired, rep.Problem, err)
			}
			if err := c.PublishDir(ctx, "cfg", fill, 1); err != nil {
				t.Errorf("PublishDir after RepairRecord: %v", err)
			}
		})
	}
}

// PublishDir refuses the metadata directory's own name with ErrMetadataName
// (exit 5), and makes no lock file for it.
func TestPublishDirRefusesMetadataName(t *testing.T) {
	dir := t.TempDir()
	c := open(t, local, dir)
	ctx := ctxT(t, 30*time.Second)
	err := c.PublishDir(ctx, ".sharedwrite", func(string) error { return nil }, 1)
	if !errors.Is(err, ErrMetadataName) {
		t.Errorf("PublishDir(.sharedwrite) = %v (exit %d); want ErrMetadataName (exit %d)", err, ExitCode(err), ExitBadPath)
	}
	if _, serr := os.Stat(filepath.Join(dir, locking.LockPath(".sharedwrite"))); serr == nil {
		t.Errorf("a lock file was made for the key .sharedwrite")
	}
}
