//go:build linux

package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A Move into a directory that another call made and then rolled back (it
// was empty then: that call failed) while the Move was between finding the
// directory and renaming into it makes the directory again and moves: the
// race is transient, as for a write (DESIGN: MkdirAll), not an error that
// leaves the file unmoved.
func TestMoveRemakesDirectoryRolledBackMeanwhile(t *testing.T) {
	base := t.TempDir()
	rootDir := mkdirs(t, base, "root")
	// The source beside the root, on its filesystem: the Move renames.
	src := filepath.Join(mkdirs(t, base, "spool"), "job.txt")
	sum := randomFile(t, src, 4096, 0o640)
	srcInfo, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	// The directory as another call left it while it ran: made, still empty.
	newDir := mkdirs(t, rootDir, "new")
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	removed := 0
	rollback := PreCommit(func(ctx context.Context, ch Change) error {
		// The other call fails now and rolls back the directory it made.
		if removed == 0 {
			if err := os.Remove(newDir); err != nil {
				t.Errorf("removing the empty directory as its maker's rollback: %v", err)
			}
		}
		removed++
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Move(ctx, src, "new/job.txt", rollback); err != nil {
		t.Fatalf("Move into a directory rolled back meanwhile: %v; want it made again and the file moved", err)
	}
	if removed == 0 {
		t.Fatal("the PreCommit hook never ran; the race was not staged")
	}
	checkMoved(t, rootDir, src, "new/job.txt", sum, 0o640, srcInfo.ModTime())
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source after Move: %v; want it gone", err)
	}
}
