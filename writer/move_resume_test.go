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
)

// A leftover intent whose source is gone tells a finished move from a source
// removed by someone else before the move committed: only a destination that
// holds the intent's copy is reported as moved.
func TestMoveSourceGoneAfterInterruptedMove(t *testing.T) {
	for _, tc := range []struct {
		name    string
		copied  bool // the intent records the complete copy: dst's content...
		byFile  bool // ...or, when set, dst's file (a copy not hashed)
		other   bool // the file the intent names is another one than dst
		wantErr bool
	}{
		{"copy committed", true, false, false, false},
		{"copy committed, named by its file", true, true, false, false},
		{"copy named by its file, another file at dst", true, true, true, true},
		{"copy never committed", false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			ctx := context.Background()
			src := filepath.Join(t.TempDir(), "spool.txt")
			if err := os.WriteFile(src, []byte("moved"), 0o644); err != nil {
				t.Fatal(err)
			}
			dst := "old"
			switch {
			case tc.other:
				dst = "MOVED" // the copy's size, not the copy's file
			case tc.copied:
				dst = "moved"
			}
			if err := os.WriteFile(filepath.Join(dir, "dst"), []byte(dst), 0o644); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			in := newMoveIntent(src, r.dir, "dst", fi)
			sum, _, err := r.hashRel("dst")
			if err != nil {
				t.Fatal(err)
			}
			in.SHA256 = hex.EncodeToString(sum[:])
			if !tc.copied || tc.byFile {
				in.SHA256 = "" // the copy was interrupted before it was complete
			}
			if tc.byFile {
				named := filepath.Join(dir, "dst")
				if tc.other {
					// A file of the copy's size that is not dst.
					named = filepath.Join(t.TempDir(), "other")
					if err := os.WriteFile(named, []byte("moved"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				nfi, err := os.Stat(named)
				if err != nil {
					t.Fatal(err)
				}
				in.CopyDev, in.CopyIno = fileID(nfi)
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
