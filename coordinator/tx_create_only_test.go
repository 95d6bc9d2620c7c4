package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// TestTxCreateOnlyNeverReplaces: a transaction made with writer.CreateOnly
// never replaces a file, even one created (outside sharedwrite) after its
// commits checked that their targets were absent and before its commit
// point: past that point a commit is completed by a rename. It is refused
// before its commit point (fs.ErrInvalid) and changes nothing.
func TestTxCreateOnlyNeverReplaces(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	txBeforeIntent = func() error {
		mustWrite(t, filepath.Join(root, "c/b"), "b-theirs")
		return nil
	}
	t.Cleanup(func() { txBeforeIntent = nil })
	err := c.Tx(ctx, namedTxFiles("new", "c/a", "c/b"), writer.CreateOnly())
	txBeforeIntent = nil
	t.Logf("Tx = %v", err)
	if !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), "CreateOnly") {
		t.Errorf("Tx with CreateOnly, c/b created meanwhile = %v; want fs.ErrInvalid naming CreateOnly", err)
	}
	// c/b is the outsider's when the transaction got that far, else absent.
	if b, err := os.ReadFile(filepath.Join(root, "c/b")); err == nil && string(b) != "b-theirs" {
		t.Errorf("c/b = %q; want b-theirs (CreateOnly never replaces)", b)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "c/a")); len(m) != 0 {
		t.Errorf("c/a created by a Tx that failed for c/b; want nothing created")
	}
	if n := txIntents(t, root); n != 0 {
		t.Errorf("%d intents left; want 0", n)
	}
}
