//go:build linux

package testrig

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// The tags of POSIX ACL entries, and the id of an entry that names no one.
const (
	ACLUserObj  = 0x01
	ACLUser     = 0x02
	ACLGroupObj = 0x04
	ACLMask     = 0x10
	ACLOther    = 0x20
	ACLNoID     = 0xffffffff
)

// PosixACL encodes a POSIX ACL as the kernel keeps it in the
// system.posix_acl_access and system.posix_acl_default attributes: a
// version, then (tag, perm, id) entries, which must be in tag order.
func PosixACL(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// Xattr returns the extended attribute name of p (not following a
// symlink), or nil when p has none by that name.
func Xattr(t testing.TB, p, name string) []byte {
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

// SetXattr sets the extended attribute name of p, and skips the test (or
// fails it, where rigs are required) when the filesystem cannot hold it.
func SetXattr(t testing.TB, p, name string, value []byte) {
	t.Helper()
	if err := unix.Setxattr(p, name, value, 0); err != nil {
		Unavailable(t, "extended attribute "+name+" on "+p+": "+err.Error())
	}
}
