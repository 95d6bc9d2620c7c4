//go:build linux

package writer

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// CopyMetaFrom gives the new file src's extended attributes in place of
// those of the file it replaces: none of the replaced file's stays, its
// access ACL or a user.* attribute that src lacks, with or without a Sync
// before the Commit.
func TestCopyMetaFromReplacesTargetAttrs(t *testing.T) {
	for _, sync := range []bool{false, true} {
		name := "Commit"
		if sync {
			name = "Sync+Commit"
		}
		t.Run(name, func(t *testing.T) {
			r, dir := openRoot(t)
			ctx := context.Background()
			target := filepath.Join(dir, "f")
			mustWrite(t, target, "old", 0o640)
			testrig.SetXattr(t, target, "system.posix_acl_access", namedACL(6))
			testrig.SetXattr(t, target, "user.origin", []byte("target"))
			testrig.SetXattr(t, target, "user.shared", []byte("target"))
			srcPath := filepath.Join(dir, "src")
			mustWrite(t, srcPath, "src", 0o600)
			testrig.SetXattr(t, srcPath, "user.shared", []byte("src"))
			src, err := os.Open(srcPath)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()

			f, err := r.Create(ctx, "f", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.CopyMetaFrom(src)
			if _, err := f.Write([]byte("new")); err != nil {
				t.Fatal(err)
			}
			if sync {
				if err := f.Sync(); err != nil {
					t.Fatalf("Sync: %v", err)
				}
			}
			if err := f.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got, want := xattrsOf(t, target), xattrsOf(t, srcPath); !maps.Equal(got, want) {
				t.Errorf("extended attributes: got %q; want %q (src's)", got, want)
			}
			if got, want := statMode(t, target), statMode(t, srcPath); got != want {
				t.Errorf("mode: got %v; want %v (src's)", got, want)
			}
		})
	}
}
