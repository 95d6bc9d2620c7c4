package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// bumpGenerationElsewhere plays another host (whose file lock this one cannot
// see) that committed a rotation of key: the volume's committed generation
// moves ahead, the floor stays.
func bumpGenerationElsewhere(t *testing.T, root, key string, by uint64) error {
	t.Helper()
	scratch, err := os.OpenRoot(t.TempDir())
	if err != nil {
		return err
	}
	defer scratch.Close()
	sd, err := locking.OpenLockDir(scratch)
	if err != nil {
		return err
	}
	defer sd.Close()
	fl, err := sd.Open(key)
	if err != nil {
		return err
	}
	defer fl.Close()
	if err := fl.Lock(t.Context()); err != nil {
		return err
	}
	ours, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer ours.Close()
	od, err := locking.OpenLockDir(ours)
	if err != nil {
		return err
	}
	defer od.Close()
	peek, err := od.Open(key)
	if err != nil {
		return err
	}
	rec, err := peek.ReadRecord()
	peek.Close()
	if err != nil {
		return err
	}
	rec.Committed.Generation += by
	if err := fl.WriteFloorPending(rec.Floor, rec.Committed); err != nil {
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

// A commit whose record's generation moved ahead while it worked records, as
// committed, exactly the version it wrote as pending: the raised generation.
func TestCommittedMatchesPendingAfterGenerationMoved(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) {
		return []byte("new"), bumpGenerationElsewhere(t, root, "f", 5)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	rec, err := c.peekRecord("f")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Generation != rec.Pending.Generation || rec.Committed.Generation < 6 {
		t.Fatalf("committed generation %d, pending %d; want them equal and at least 6", rec.Committed.Generation, rec.Pending.Generation)
	}
}
