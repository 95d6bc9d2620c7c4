//go:build linux

package writer

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// aclAccess is the extended attribute that holds a file's access ACL.
const aclAccess = "system.posix_acl_access"

// isACL reports whether the extended attribute name holds a file's access
// ACL: a POSIX one, or an NFSv4 or rich ACL, which set the mode's bits too.
func isACL(name string) bool {
	switch name {
	case aclAccess, "system.nfs4_acl", "system.nfs4acl", "system.richacl":
		return true
	}
	return false
}

// ofContent reports whether the extended attribute name vouches for the
// file's content: its capabilities (granted to that program; the kernel
// drops them from a file whose content is written) and its IMA and EVM
// hashes and signatures. A copy of other content must not carry them.
func ofContent(name string) bool {
	switch name {
	case "security.capability", "security.ima", "security.evm":
		return true
	}
	return false
}

// openReplaced opens the file the temp's rename will replace, the target
// whose Lstat is old, for its extended attributes (copyXattrs). It opens
// through the root, without following a symlink, and returns the open file
// with the metadata the temp is to get: old, or the file's fstat when another
// file has been renamed over the target since old's Lstat (the temp must not
// get one file's mode and another file's ACL). It returns no file, and old,
// when there is none to copy from: a new file (old nil; the temp keeps what
// its directory's default ACL gave it), a target removed or made other than a
// regular file since old's Lstat (ENOENT; ESTALE: replaced on an NFS server),
// or one this process may not open (EACCES; EWOULDBLOCK: another descriptor
// holds a write lease on it, which the open does not wait to break), which
// keeps only its mode and owner. Nor is there on a filesystem that keeps no
// extended attributes (sshfs, many FUSE filesystems: the temp's listing is
// refused), where the open would cost a round trip to the server for
// nothing. The temp's listing also tells copyXattrs whether it has an
// attribute to remove (t.noAttrs).
func (r *Root) openReplaced(t *tempFile, old fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if old == nil {
		return nil, nil, nil
	}
	n, err := unix.Flistxattr(int(t.File.Fd()), nil)
	if isErrno(err, unix.EOPNOTSUPP) {
		return nil, old, nil
	}
	t.noAttrs = err == nil && n == 0
	target := t.Target
	f, err := r.root.OpenFile(target, os.O_RDONLY|oNoFollow|oNonblock, 0)
	switch {
	case err != nil && (isErrno(err, unix.ENOENT, unix.ESTALE, unix.ELOOP, unix.ENXIO, unix.EWOULDBLOCK) || errors.Is(err, fs.ErrPermission)):
		return nil, old, nil
	case err != nil:
		return nil, nil, newError("open to copy extended attributes", target, err)
	}
	cur, err := f.Stat()
	if err != nil && !errors.Is(err, unix.ESTALE) {
		_ = f.Close()
		return nil, nil, newError("fstat", target, err)
	}
	if err != nil || !cur.Mode().IsRegular() {
		_ = f.Close()
		return nil, old, nil
	}
	if os.SameFile(cur, old) {
		return f, old, nil
	}
	return f, cur, nil
}

// copyXattrs gives the temp t the extended attributes of src, as a rename
// would keep them. Above all the access ACL: the mode's group bits of a file
// with one are the ACL's mask, so without it the file's owning group would
// get the access that named users had. An access ACL the temp inherited
// from its directory's default ACL is removed when src has none. With acl
// unset (a forced Mode) the ACL is left as the mode made it. With
// sameContent unset (the temp holds new content, not src's) the attributes
// that vouch for src's content are not copied (ofContent).
//
// The attributes an earlier copy set on t (from the target at Sync, since
// replaced or changed) that src lacks are removed: t gets exactly src's.
//
// An ACL or attribute the destination cannot hold (EOPNOTSUPP; EPERM without
// the privilege, for trusted.*) is passed over, as mv does, and so is any
// refusal to set another security.* attribute (an SELinux label: a confined
// process may not relabel; the temp keeps the label the policy gave it, as
// any new file); any other failure is an error.
func copyXattrs(src *os.File, t *tempFile, acl, sameContent bool) error {
	sfd, dfd := int(src.Fd()), int(t.File.Fd())
	names, err := xattrNames(sfd)
	if isErrno(err, unix.ENOENT, unix.ESTALE) {
		// Gone since it was opened, on a filesystem that reads attributes
		// by name (FUSE, sshfs) or by a handle the server no longer knows
		// (NFS): nothing to copy, as for a target removed before its open.
		return nil
	}
	if err != nil && !isErrno(err, unix.EOPNOTSUPP) {
		return newError("list extended attributes of", src.Name(), err)
	}
	hasACL := false
	prev := t.copied
	t.copied = nil
	for _, name := range names {
		if name == aclAccess {
			hasACL = true
		}
		if isACL(name) && !acl || ofContent(name) && !sameContent {
			continue
		}
		val, err := xattrValue(sfd, name)
		if isErrno(err, unix.ENODATA, unix.ENOENT, unix.ESTALE, unix.EOPNOTSUPP) {
			continue // removed meanwhile (the attribute, or the file), or listed but not readable
		}
		if err != nil {
			return newError("read extended attribute "+name+" of", src.Name(), err)
		}
		err = unix.Fsetxattr(dfd, name, val, 0)
		if err == nil {
			t.copied = append(t.copied, name)
			continue
		}
		if isErrno(err, unix.EOPNOTSUPP, unix.EPERM) || strings.HasPrefix(name, "security.") {
			continue
		}
		return newError("set extended attribute "+name+" of", t.Name, err)
	}
	for _, name := range prev {
		// The access ACL is set or removed below.
		if !isACL(name) && !slices.Contains(t.copied, name) {
			if err := removeXattr(t, name); err != nil {
				return err
			}
		}
	}
	if acl && !hasACL && !t.noAttrs {
		if err := unix.Fremovexattr(dfd, aclAccess); err != nil && !isErrno(err, unix.ENODATA, unix.EOPNOTSUPP) {
			return newError("remove inherited ACL of", t.Name, err)
		}
	}
	return nil
}

// removeXattr removes the extended attribute name from the temp t. One it
// does not have, or may not remove (as copyXattrs may not set it), is passed
// over.
func removeXattr(t *tempFile, name string) error {
	err := unix.Fremovexattr(int(t.File.Fd()), name)
	if err == nil || isErrno(err, unix.ENODATA, unix.EOPNOTSUPP, unix.EPERM) || strings.HasPrefix(name, "security.") {
		return nil
	}
	return newError("remove extended attribute "+name+" of", t.Name, err)
}

// xattr is an extended attribute: its name and value.
type xattr struct {
	name  string
	value []byte
}

// ownXattrs returns the extended attributes the temp t has of its own, as a
// new file: the access ACL its directory's default ACL gave it, a security
// label. Taken before a copy (copyXattrs) for restoreXattrs (t.own). None on
// a filesystem that keeps none.
func ownXattrs(t *tempFile) ([]xattr, error) {
	fd := int(t.File.Fd())
	names, err := xattrNames(fd)
	if isErrno(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	if err != nil {
		return nil, newError("list extended attributes of", t.Name, err)
	}
	own := make([]xattr, 0, len(names))
	for _, name := range names {
		val, err := xattrValue(fd, name)
		if isErrno(err, unix.ENODATA, unix.EOPNOTSUPP) {
			continue
		}
		if err != nil {
			return nil, newError("read extended attribute "+name+" of", t.Name, err)
		}
		own = append(own, xattr{name, val})
	}
	return own, nil
}

// restoreXattrs makes the temp t's extended attributes its own again when
// there is no file to copy them from (see openReplaced): the file they were
// copied from (copyXattrs) is gone, or another is there that this process
// may not open. It removes the copied ones and sets t.own (ownXattrs) back,
// the inherited access ACL among them. Before the chmod: setting an access
// ACL sets the mode's group bits to its mask. Without a Sync before, there is
// nothing to do.
func restoreXattrs(t *tempFile) error {
	for _, name := range t.copied {
		if err := removeXattr(t, name); err != nil {
			return err
		}
	}
	t.copied = nil
	for _, a := range t.own {
		err := unix.Fsetxattr(int(t.File.Fd()), a.name, a.value, 0)
		if err != nil && !isErrno(err, unix.EOPNOTSUPP, unix.EPERM) && !strings.HasPrefix(a.name, "security.") {
			return newError("restore extended attribute "+a.name+" of", t.Name, err)
		}
	}
	return nil
}

// xattrNames returns the names of the extended attributes of the file fd.
func xattrNames(fd int) ([]string, error) {
	buf, err := readSized(func(b []byte) (int, error) { return unix.Flistxattr(fd, b) })
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range strings.SplitSeq(string(buf), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// xattrValue returns the value of the extended attribute name of the file fd.
func xattrValue(fd int, name string) ([]byte, error) {
	return readSized(func(b []byte) (int, error) { return unix.Fgetxattr(fd, name, b) })
}

// readSized reads what get returns: get(nil) gives its size, then get(buf)
// fills a buffer of that size, asked again when it grew meanwhile (ERANGE).
// Nil when it is empty.
func readSized(get func(buf []byte) (int, error)) ([]byte, error) {
	for {
		n, err := get(nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = get(buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew meanwhile
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
