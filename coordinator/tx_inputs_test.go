package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bad inputs are refused with an error naming the step and the path, and
// change nothing.
func TestTxBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  []string // substrings of the error
		is    error    // a sentinel the error wraps, when not nil
	}{
		{"duplicate", []string{"p/a", "p/b", "p/a"}, []string{"p/a"}, ErrDuplicateName},
		{"dot spelling", []string{"p/a", "./p/a"}, []string{"p/a"}, ErrDuplicateName},
		{"double slash", []string{"p/a", "p//a"}, []string{"p/a"}, ErrDuplicateName},
		{"dotdot spelling", []string{"p/a", "p/../p/a"}, []string{"p/../p/a"}, nil},
		{"symlink spelling", []string{"p/a", "lnk/a"}, []string{"p/a"}, ErrDuplicateName},
		{"escapes root", []string{"p/a", "../escape"}, []string{"../escape"}, nil},
		{"absolute", []string{"p/a", "/etc/passwd-tx"}, []string{"/etc/passwd-tx"}, nil},
		{"metadata", []string{"p/a", ".sharedwrite/volume-id"}, []string{".sharedwrite"}, nil},
		{"directory", []string{"p/a", "p/dir"}, []string{"p/dir"}, nil},
		{"temp name", []string{"p/a", "p/.b.sw.h.1.1.00000000.tmp"}, []string{".b.sw.h"}, nil},
		{"trailing slash", []string{"p/a", "p/b/"}, []string{"p/b/"}, nil},
		{"NUL", []string{"p/a", "p/b\x00"}, []string{"NUL"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			mustWrite(t, filepath.Join(root, "p/a"), "a-old")
			mustWrite(t, filepath.Join(root, "p/b"), "b-old")
			if err := os.Mkdir(filepath.Join(root, "p/dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("p", filepath.Join(root, "lnk")); err != nil {
				t.Fatal(err)
			}
			before := treeSnapshot(t, root)
			err := c.Tx(ctx, namedTxFiles("new", tc.files...))
			t.Logf("Tx = %v", err)
			if err == nil {
				t.Fatalf("Tx(%q) = nil; want an error", tc.files)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Tx(%q) = %q; want it to name %q", tc.files, err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Tx(%q) = %q; want errors.Is %v", tc.files, err, tc.is)
			}
			if after := treeSnapshot(t, root); after != before {
				t.Errorf("tree changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// treeSnapshot lists the tree under root (outside .sharedwrite/locks, whose lock
// files are created by taking a key) with each file's content.
func treeSnapshot(t *testing.T, root string) string {
	t.Helper()
	var s string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == filepath.Join(metaDir, "locks") {
			return filepath.SkipDir
		}
		s += rel
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			s += "=" + string(b)
		}
		s += " "
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
