//go:build unix

package locking

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestPlantedHardLinkRefused: O_NOFOLLOW stops a symlink, not a hard link.
// Someone who may write in .sharedwrite/locks (the group, by design) can
// plant a lock file that is another name of a file elsewhere on the
// filesystem, outside the root; the record must never be written into it. A
// lock file is never linked twice, so one with more than one link is refused.
func TestPlantedHardLinkRefused(t *testing.T) {
	for _, size := range []int{0, 2048} {
		t.Run(map[int]string{0: "empty", 2048: "large"}[size], func(t *testing.T) {
			dir := t.TempDir()
			outside := filepath.Join(t.TempDir(), "victim")
			content := bytes.Repeat([]byte("x"), size)
			if err := os.WriteFile(outside, content, 0o600); err != nil {
				t.Fatal(err)
			}
			mustMkdir(t, filepath.Join(dir, LocksDir))
			if err := os.Link(outside, filepath.Join(dir, LockPath("k"))); err != nil {
				t.Skip("link across the two temp directories:", err)
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			err = openKey(t, root)
			if got, _ := os.ReadFile(outside); !bytes.Equal(got, content) {
				t.Errorf("the file outside the root was written through a planted hard link (openKey: %v)", err)
			}
			if err == nil {
				t.Errorf("opening a lock file with two links succeeded; want refused")
			}
		})
	}
}
