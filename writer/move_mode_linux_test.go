//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// Move keeps the source's mode, as mv does, by rename and by the copy
// fallback alike: an option it does not use (Mode) is ignored by both, so a
// file's mode never depends on whether its spool is on the volume's device.
func TestMoveKeepsSourceModeWithModeOptionOnBothPaths(t *testing.T) {
	for _, path := range []string{"rename", "copy"} {
		t.Run(path, func(t *testing.T) {
			rootDir := testrig.Tmpfs(t, "16m")
			spool := filepath.Join(rootDir, "spool") // same device: rename
			if path == "copy" {
				spool = t.TempDir() // another device: the copy fallback
			}
			r, err := Open(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			src := filepath.Join(spool, "job")
			sum := randomFile(t, src, 4096, 0o640)
			fi, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			var ev events
			if err := r.Move(context.Background(), src, "out/job", Mode(0o604), ev.opt()); err != nil {
				t.Fatalf("Move: %v", err)
			}
			if got := ev.count("exdev-fallback") > 0; got != (path == "copy") {
				t.Fatalf("copy fallback taken: %v; the rig wants the %s path", got, path)
			}
			checkMoved(t, rootDir, src, "out/job", sum, 0o640, fi.ModTime())
		})
	}
}
