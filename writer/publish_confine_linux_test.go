//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPublishDirFillStaysInRoot: fill writes through the path it is given
// with plain os calls. A directory above the new version that is swapped for
// a symlink to somewhere outside the root while fill runs (here the parent,
// by someone with write access inside the root) must not lead fill's writes
// outside the root.
func TestPublishDirFillStaysInRoot(t *testing.T) {
	r, dir := openRoot(t)
	outside := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pub"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := r.PublishDir(context.Background(), "pub/current", func(vdir string) error {
		// The swap: pub moves away and a symlink to outside takes its name,
		// with a directory of the version's name waiting there.
		ents, err := os.ReadDir(filepath.Join(dir, "pub"))
		if err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(dir, "pub"), filepath.Join(dir, "pub-moved")); err != nil {
			return err
		}
		for _, e := range ents {
			if err := os.Mkdir(filepath.Join(outside, e.Name()), 0o755); err != nil {
				return err
			}
		}
		if err := os.Symlink(outside, filepath.Join(dir, "pub")); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(vdir, "index.html"), []byte("content"), 0o644)
	}, 1)
	t.Logf("PublishDir: %v", err)
	_ = filepath.WalkDir(outside, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("fill wrote %s, outside the root", p)
		}
		return nil
	})
}
