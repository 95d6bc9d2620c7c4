package writer

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A leftover intent whose source is gone tells a finished move from a source
// removed by someone else before the move committed: only a destination that
// holds the intent's copy is reported as moved.
func TestMoveSourceGoneAfterInterruptedMove(t *testing.T) {
	// A copy made without a hook is not hashed: the intent names it by its
	// inode and mtime (src's), which a file written since at the same inode
	// number (the copy's temp swept, its inode reused) does not have.
	const (
		bySHA    = "sha256"
		byFile   = "file"
		otherIno = "another file's inode"
		reused   = "dst's inode, another mtime"
	)
	for _, tc := range []struct {
		name    string
		copied  bool   // the intent records the complete copy...
		named   string // ...by this
		wantErr bool
	}{
		{"copy committed", true, bySHA, false},
		{"copy committed, named by its file", true, byFile, false},
		{"copy named by its file, another file at dst", true, otherIno, true},
		{"copy named by its file, its inode reused at dst", true, reused, true},
		{"copy never committed", false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			ctx := context.Background()
			src := filepath.Join(t.TempDir(), "spool.txt")
			if err := os.WriteFile(src, []byte("moved"), 0o644); err != nil {
				t.Fatal(err)
			}
			srcMtime := time.Now().Add(-time.Hour).Round(0)
			if err := os.Chtimes(src, srcMtime, srcMtime); err != nil {
				t.Fatal(err)
			}
			dst := "old"
			switch {
			case tc.named == otherIno || tc.named == reused:
				dst = "MOVED" // the copy's size, not the copy
			case tc.copied:
				dst = "moved"
			}
			dstPath := filepath.Join(dir, "dst")
			if err := os.WriteFile(dstPath, []byte(dst), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.named == byFile {
				// The copy carries src's mtime.
				if err := os.Chtimes(dstPath, srcMtime, srcMtime); err != nil {
					t.Fatal(err)
				}
			}
			fi, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			in := newMoveIntent(src, r.dir, "dst", fi)
			switch tc.named {
			case bySHA:
				sum, _, err := r.hashRel("dst")
				if err != nil {
					t.Fatal(err)
				}
				in.SHA256 = hex.EncodeToString(sum[:])
			case byFile, otherIno, reused:
				named := dstPath
				if tc.named == otherIno {
					named = filepath.Join(t.TempDir(), "other")
					if err := os.WriteFile(named, []byte("moved"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				nfi, err := os.Stat(named)
				if err != nil {
					t.Fatal(err)
				}
				_, in.CopyIno = fileID(nfi)
				in.CopyMtimeNs = srcMtime.UnixNano()
			}
			if err := writeMoveIntent(&config{}, src, in); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(src); err != nil {
				t.Fatal(err)
			}

			err = r.Move(ctx, src, "dst")
			switch {
			case tc.wantErr && (!errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "source gone")):
				t.Errorf("Move = %v; want an error saying the source is gone and nothing moved", err)
			case !tc.wantErr && err != nil:
				t.Errorf("Move = %v; want nil (the interrupted move had committed)", err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "dst")); string(b) != dst {
				t.Errorf("dst = %q; want it unchanged (%q)", b, dst)
			}
			if _, err := os.Lstat(moveIntentPath(src)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("intent after Move: %v; want it removed", err)
			}
		})
	}
}
