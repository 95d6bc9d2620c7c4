//go:build unix

package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A transaction killed after its first rename, then one of its other
// targets replaced by a symlink (to another file of the root, to nothing, or
// out of the root). The
// transaction is committed: taking one of its other keys completes that
// key's file, as for a target that became a directory
// (TestTxCompletionPastUnrenamableTarget), instead of discarding the intent
// and leaving the transaction half applied for good; the symlinked target
// is not renamed over, and the intent stays for it.
func TestTxCompletionPastSymlinkedTarget(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	mustWrite(t, outside, "outside")
	for _, tc := range []struct{ name, link string }{
		{"to another file of the root", "other"},
		{"dangling", "missing"},
		{"leaving the root", outside},
	} {
		t.Run(tc.name, func(t *testing.T) { txCompletionPastSymlink(t, tc.link, outside) })
	}
}

// txCompletionPastSymlink is TestTxCompletionPastSymlinkedTarget with q/b a
// symlink to link.
func txCompletionPastSymlink(t *testing.T, link, outside string) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	crashTx(t, root, 0, []string{"q/a", "q/b", "q/c"})
	if got := readFile(t, filepath.Join(root, "q/a")); got != "q/a=new" {
		t.Fatalf("q/a after the kill = %q; want the first rename made", got)
	}
	mustWrite(t, filepath.Join(root, "q/other"), "other")
	if err := os.Remove(filepath.Join(root, "q/b")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink(link, filepath.Join(root, "q/b")); err != nil {
		t.Fatal(err)
	}
	var got string
	err := c.Update(ctx, "q/c", func(old []byte, _ bool) ([]byte, error) {
		got = string(old)
		return old, nil
	})
	if err != nil {
		t.Fatalf("Update(q/c) = %v", err)
	}
	if got != "q/c=new" {
		t.Errorf("q/c read under its lease with q/b a symlink = %q; want the committed transaction's q/c=new", got)
	}
	if got := readFile(t, filepath.Join(root, "q/other")); got != "other" {
		t.Errorf("q/other = %q; want it untouched", got)
	}
	if got := readFile(t, outside); got != "outside" {
		t.Errorf("%s = %q; want it untouched", outside, got)
	}
	if _, err := os.Lstat(filepath.Join(root, "q/missing")); !os.IsNotExist(err) {
		t.Errorf("q/missing: %v; want nothing made at a dangling symlink's target", err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "q/b")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("q/b after the completion: %v, %v; want the symlink left", fi, err)
	}
	if n := txIntents(t, root); n != 1 {
		t.Errorf("%d intents with q/b a symlink; want the transaction's one kept for it", n)
	}
}
