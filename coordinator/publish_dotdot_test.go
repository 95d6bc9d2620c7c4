package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// A ".." in the name is refused by PublishDir as by every other operation
// (and by the writer's PublishDir): cleaning it away lexically would publish
// "link/../site" at the root's "site", where the system puts it beside the
// directory link points to.
func TestPublishDirRefusesDotDotInName(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "d", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/e", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	c := open(t, local, root)
	fill := func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), []byte("v"), 0o644) }
	for _, tc := range []struct{ label, name string }{
		{"through a symlink", "link/../site"},
		{"through a directory", "d/../site"},
	} {
		name := tc.name
		t.Run(tc.label, func(t *testing.T) {
			werr := c.WriteFile(ctxT(t, 30*time.Second), name, []byte("x"), 0o644)
			if !errors.Is(werr, writer.ErrOutsideRoot) {
				t.Fatalf("WriteFile(%q) = %v; want writer.ErrOutsideRoot", name, werr)
			}
			err := c.PublishDir(ctxT(t, 30*time.Second), name, fill, 1)
			if !errors.Is(err, writer.ErrOutsideRoot) {
				t.Errorf("PublishDir(%q) = %v; want writer.ErrOutsideRoot, as WriteFile", name, err)
			}
			for _, p := range []string{"site", "d/site"} {
				if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s after the refused publish: %v; want it absent", p, err)
				}
			}
		})
	}
}
