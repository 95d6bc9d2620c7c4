//go:build linux

package coordinator

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/writer"
)

// A cross-device move whose destination was committed but whose source could
// not be removed afterwards (it changed after the copy) made a visible
// change: it must be recorded and reported as committed, never as "nothing
// changed".
func TestMoveCommittedSourceKeptIsCommitted(t *testing.T) {
	spool := testrig.Tmpfs(t, "1m")
	root := t.TempDir()
	tr := newTelRig(t)
	c := open(t, local, root, tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	src := filepath.Join(spool, "upload")
	mustWrite(t, src, "spooled")
	touch := writer.PreCommit(func(context.Context, writer.Change) error {
		// The source changes after it was copied, before the rename.
		return os.WriteFile(src, []byte("spooled, then changed"), 0o644)
	})
	err := c.Move(ctx, src, "in/upload", touch)
	if err == nil {
		t.Fatal("Move = nil; want the error saying the changed source was kept")
	}
	if got := readFile(t, filepath.Join(root, "in/upload")); got != "spooled" {
		t.Fatalf("destination = %q; want spooled (committed)", got)
	}
	rec, rerr := c.peekRecord("in/upload")
	if rerr != nil {
		t.Fatal(rerr)
	}
	if want := sha256.Sum256([]byte("spooled")); rec.Committed.SHA256 != want {
		t.Errorf("committed record after the visible move = %+v; want the moved content's version", rec.Committed)
	}
	ops := tr.named("sharedwrite.move")
	if len(ops) != 1 {
		t.Fatalf("%d move spans; want 1", len(ops))
	}
	if got, _ := attr(ops[0], string(AttrOutcome)); got != OutcomeCommitted {
		t.Errorf("move span outcome = %q; want %q (err %v)", got, OutcomeCommitted, err)
	}
}
