//go:build unix

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Remove takes only regular files: an empty directory, a FIFO are refused
// with ErrNotRegular and stay; the directory's error also names EISDIR.
func TestRemoveRefusesNonRegular(t *testing.T) {
	r, dir := openRoot(t)
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "p"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "p"} {
		err := r.Remove(context.Background(), name)
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Remove(%q) = %v; want ErrNotRegular", name, err)
		}
		if name == "d" && (!errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), "EISDIR")) {
			t.Errorf("Remove(d) = %v; want it to name and wrap EISDIR", err)
		}
		if _, lerr := os.Lstat(filepath.Join(dir, name)); lerr != nil {
			t.Errorf("%s after a refused Remove: %v; want it kept", name, lerr)
		}
	}
}
