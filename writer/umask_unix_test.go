//go:build unix

package writer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// perm is applied minus the umask in force at the call, as os.WriteFile does:
// a process that tightens its umask gets files no more open than it allows.
func TestUmaskReadAtEachCall(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	if err := r.WriteFile(ctx, "a", []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(0o077)
	if err := r.WriteFile(ctx, "b", []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ref"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(0o022)
	fa, _ := os.Stat(filepath.Join(dir, "a"))
	fb, _ := os.Stat(filepath.Join(dir, "b"))
	fr, _ := os.Stat(filepath.Join(dir, "ref"))
	if fa.Mode().Perm() != 0o644 {
		t.Errorf("a (umask 022): got %v; want -rw-r--r--", fa.Mode().Perm())
	}
	if fb.Mode().Perm() != fr.Mode().Perm() {
		t.Errorf("b (umask 077): got %v; os.WriteFile gives %v", fb.Mode().Perm(), fr.Mode().Perm())
	}
}
