//go:build linux

package writer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A Move keeps the source's permissions as they are: its access ACL and its
// extended attributes, which a rename keeps, are kept by the copy made across
// filesystems too. Without the ACL the copy's group bits (the ACL's mask)
// would give the file's owning group the access that only a named user had;
// and the copy, created in the destination's directory, must not keep the
// ACL it inherits from that directory's default ACL when the source has none.
func TestMoveCopyKeepsACLAndXattrs(t *testing.T) {
	// The owner and user 1000 may read and write; the owning group and
	// others may not (the mode shows the mask: 0660).
	named := namedACL(6)
	// New files in the directory: user 1000 may read them.
	inherited := defaultACL()
	cases := []struct {
		name       string
		srcACL     []byte // the source's access ACL (nil: none)
		dirDefault []byte // the destination directory's default ACL (nil: none)
	}{
		{"source with a named-user ACL", named, nil},
		{"source without an ACL into a directory with a default ACL", nil, inherited},
	}
	for _, tc := range cases {
		for _, way := range []string{"rename", "copy"} {
			t.Run(tc.name+"/"+way, func(t *testing.T) {
				rootDir := t.TempDir()
				srcDir := t.TempDir() // same filesystem: rename
				if way == "copy" {
					srcDir = testrig.Tmpfs(t, "4m")
				}
				r, err := Open(rootDir)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				in := mkdirs(t, rootDir, "in")
				if tc.dirDefault != nil {
					testrig.SetXattr(t, in, "system.posix_acl_default", tc.dirDefault)
				}
				src := filepath.Join(srcDir, "f")
				mustWrite(t, src, "payload", 0o640)
				if err := os.Chmod(src, 0o640); err != nil {
					t.Fatal(err)
				}
				if tc.srcACL != nil {
					testrig.SetXattr(t, src, "system.posix_acl_access", tc.srcACL)
				}
				testrig.SetXattr(t, src, "user.origin", []byte("spool-7"))
				fi, err := os.Stat(src)
				if err != nil {
					t.Fatal(err)
				}
				wantACL := testrig.Xattr(t, src, "system.posix_acl_access")

				var ev events
				if err := r.Move(context.Background(), src, "in/f", ev.opt()); err != nil {
					t.Fatalf("Move: %v", err)
				}
				if got := ev.count("exdev-fallback") > 0; got != (way == "copy") {
					t.Fatalf("exdev-fallback event: %v; want %v", got, way == "copy")
				}
				dst := filepath.Join(rootDir, "in", "f")
				dfi, err := os.Stat(dst)
				if err != nil {
					t.Fatal(err)
				}
				if dfi.Mode() != fi.Mode() {
					t.Errorf("mode of the destination: got %v; want %v (the source's)", dfi.Mode(), fi.Mode())
				}
				if got := testrig.Xattr(t, dst, "system.posix_acl_access"); !bytes.Equal(got, wantACL) {
					t.Errorf("access ACL of the destination: got %x; want %x (the source's)", got, wantACL)
				}
				if got := testrig.Xattr(t, dst, "user.origin"); string(got) != "spool-7" {
					t.Errorf("user.origin of the destination: got %q; want %q (the source's)", got, "spool-7")
				}
			})
		}
	}
}
