package coordinator

import (
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// bumpGenerationElsewhere plays another host that committed a rotation of
// key: the volume's committed generation moves ahead, the floor stays.
func bumpGenerationElsewhere(t *testing.T, root, key string, by uint64) error {
	return rewriteRecordElsewhere(t, root, key, func(rec *locking.Record) {
		rec.Committed.Generation += by
		rec.Pending = rec.Committed
	})
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
