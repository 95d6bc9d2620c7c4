package writer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A Move's copy made without a hook is not hashed. When its rename reports an
// error, whether the rename happened anyway (a retransmitted rename on a
// network filesystem) is told by the copy's inode, or where inodes are not
// stable (sshfs) by its size and mtime (src's, to the nanosecond), not by a
// sha256 it does not have: a rename that happened is committed, and a temp
// removed by someone else before the rename leaves a target that is not.
func TestRenameHappenedUnhashedCopy(t *testing.T) {
	for _, renamed := range []bool{true, false} {
		t.Run(map[bool]string{true: "renamed", false: "temp removed, old target"}[renamed], func(t *testing.T) {
			ctx := context.Background()
			r, dir := openRoot(t)
			srcPath := filepath.Join(t.TempDir(), "src")
			data := bytes.Repeat([]byte("x"), 3<<20)
			if err := os.WriteFile(srcPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
			mtime := time.Now().Add(-time.Hour).Round(0)
			if err := os.Chtimes(srcPath, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if !renamed {
				// The old target: the copy's size, written now.
				if err := os.WriteFile(filepath.Join(dir, "dst"), bytes.Repeat([]byte("o"), len(data)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src, err := os.Open(srcPath)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			sfi, err := src.Stat()
			if err != nil {
				t.Fatal(err)
			}
			// The copy as moveByCopy makes it without a hook.
			cfg := &config{keepMtime: true}
			tmp, err := r.createTemp(ctx, cfg, "dst", "")
			if err != nil {
				t.Fatal(err)
			}
			defer tmp.release()
			tmp.unhashed = true
			if err := copyPipelined(ctx, tmp, src, false); err != nil {
				t.Fatal(err)
			}
			if err := r.finishTemp(cfg, tmp, sfi.Mode(), sfi); err != nil {
				t.Fatal(err)
			}
			tmpPath := filepath.Join(dir, tmp.Name)
			if renamed {
				if err := os.Rename(tmpPath, filepath.Join(dir, "dst")); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Remove(tmpPath); err != nil {
				t.Fatal(err)
			}
			// Inode numbers not stable: the copy's recorded file info is
			// another file's with the copy's mtime.
			other := filepath.Join(t.TempDir(), "other")
			if err := os.WriteFile(other, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(other, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if tmp.info, err = os.Stat(other); err != nil {
				t.Fatal(err)
			}
			if got := r.renameHappened(tmp, false); got != renamed {
				t.Errorf("renameHappened = %v; want %v", got, renamed)
			}
		})
	}
}
