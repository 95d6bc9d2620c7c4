//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A file replaced by new content keeps its extended attributes except those
// that vouch for the old content (IMA and EVM hashes, capabilities): the new
// content would carry a hash of other bytes. A Move keeps the same content,
// and all of them.
func TestWriteDropsAttributesOfOldContent(t *testing.T) {
	testrig.NeedRoot(t)
	ctx := context.Background()
	rootDir := t.TempDir()
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	set := func(p string) {
		testrig.SetXattr(t, p, "user.origin", []byte("spool-7"))
		testrig.SetXattr(t, p, "security.ima", []byte{0x03, 0x02, 'o', 'l', 'd'})
	}

	f := filepath.Join(rootDir, "f")
	mustWrite(t, f, "old", 0o644)
	set(f)
	if err := r.WriteFile(ctx, "f", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := testrig.Xattr(t, f, "user.origin"); string(got) != "spool-7" {
		t.Errorf("replaced file: user.origin %q; want %q (kept)", got, "spool-7")
	}
	if got := testrig.Xattr(t, f, "security.ima"); got != nil {
		t.Errorf("replaced file: security.ima %q; want none (a hash of the old content)", got)
	}

	// A move across filesystems copies the same content: it keeps them.
	srcDir := testrig.Tmpfs(t, "1m")
	src := filepath.Join(srcDir, "m")
	mustWrite(t, src, "moved", 0o644)
	set(src)
	if err := r.Move(ctx, src, "m"); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(rootDir, "m")
	if got := testrig.Xattr(t, m, "security.ima"); string(got) != "\x03\x02old" {
		t.Errorf("moved file: security.ima %q; want the source's", got)
	}
	if got := testrig.Xattr(t, m, "user.origin"); string(got) != "spool-7" {
		t.Errorf("moved file: user.origin %q; want %q", got, "spool-7")
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("source after the move: %v; want it gone", err)
	}
}
