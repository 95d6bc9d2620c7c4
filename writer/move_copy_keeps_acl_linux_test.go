//go:build linux

package writer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// posixACL encodes a POSIX ACL as the kernel keeps it in the
// system.posix_acl_access and system.posix_acl_default attributes: a
// version, then (tag, perm, id) entries in tag order.
func posixACL(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

// xattrOf returns the extended attribute name of p, or nil when p has none
// by that name.
func xattrOf(t *testing.T, p, name string) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(p, name, buf)
	if errors.Is(err, unix.ENODATA) {
		return nil
	}
	if err != nil {
		t.Fatalf("getxattr %s of %s: %v", name, p, err)
	}
	return buf[:n]
}

// A Move keeps the source's permissions as they are: its access ACL and its
// extended attributes, which a rename keeps, are kept by the copy made across
// filesystems too. Without the ACL the copy's group bits (the ACL's mask)
// would give the file's owning group the access that only a named user had;
// and the copy, created in the destination's directory, must not keep the
// ACL it inherits from that directory's default ACL when the source has none.
func TestMoveCopyKeepsACLAndXattrs(t *testing.T) {
	// The owner and user 1000 may read and write; the owning group and
	// others may not (the mode shows the mask: 0660).
	named := posixACL(
		[3]uint32{aclUserObj, 6, aclNoID},
		[3]uint32{aclUser, 6, 1000},
		[3]uint32{aclGroupObj, 0, aclNoID},
		[3]uint32{aclMask, 6, aclNoID},
		[3]uint32{aclOther, 0, aclNoID},
	)
	// New files in the directory: user 1000 may read them.
	inherited := posixACL(
		[3]uint32{aclUserObj, 7, aclNoID},
		[3]uint32{aclUser, 4, 1000},
		[3]uint32{aclGroupObj, 5, aclNoID},
		[3]uint32{aclMask, 7, aclNoID},
		[3]uint32{aclOther, 5, aclNoID},
	)
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
					if err := unix.Setxattr(in, "system.posix_acl_default", tc.dirDefault, 0); err != nil {
						testrig.Unavailable(t, "default ACL on "+in+": "+err.Error())
					}
				}
				src := filepath.Join(srcDir, "f")
				mustWrite(t, src, "payload", 0o640)
				if err := os.Chmod(src, 0o640); err != nil {
					t.Fatal(err)
				}
				if tc.srcACL != nil {
					if err := unix.Setxattr(src, "system.posix_acl_access", tc.srcACL, 0); err != nil {
						testrig.Unavailable(t, "ACL on "+src+": "+err.Error())
					}
				}
				if err := unix.Setxattr(src, "user.origin", []byte("spool-7"), 0); err != nil {
					testrig.Unavailable(t, "user xattr on "+src+": "+err.Error())
				}
				fi, err := os.Stat(src)
				if err != nil {
					t.Fatal(err)
				}
				wantACL := xattrOf(t, src, "system.posix_acl_access")

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
				if got := xattrOf(t, dst, "system.posix_acl_access"); !bytes.Equal(got, wantACL) {
					t.Errorf("access ACL of the destination: got %x; want %x (the source's)", got, wantACL)
				}
				if got := xattrOf(t, dst, "user.origin"); string(got) != "spool-7" {
					t.Errorf("user.origin of the destination: got %q; want %q (the source's)", got, "spool-7")
				}
			})
		}
	}
}
