//go:build linux

package faultfs

import (
	"context"
	"path"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is a loopback node whose namespace operations pass through the rules.
type node struct {
	fs.LoopbackNode
	rig *FS
}

var (
	_ fs.NodeLookuper       = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeSymlinker      = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
)

// rel is the node's path relative to the mount point ("." for the root).
func (n *node) rel() string {
	p := n.Path(nil)
	if p == "" {
		return "."
	}
	return p
}

func (n *node) child(name string) string { return path.Join(n.rel(), name) }

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if v := n.rig.check(OpLookup, n.child(name)); v.errno != 0 {
		return nil, v.errno
	}
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	v := n.rig.check(OpOpen, n.rel())
	if v.errno != 0 && !v.after {
		return nil, 0, v.errno
	}
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	if v.errno != 0 {
		if r, ok := fh.(fs.FileReleaser); ok {
			r.Release(ctx)
		}
		return nil, 0, v.errno
	}
	return n.wrap(fh), fuseFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	v := n.rig.check(OpCreate, n.child(name))
	if v.errno != 0 && !v.after {
		return nil, nil, 0, v.errno
	}
	if v.errno != 0 {
		// Create the file, then report the failure.
		if _, fh, _, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out); errno == 0 {
			if r, ok := fh.(fs.FileReleaser); ok {
				r.Release(ctx)
			}
		}
		return nil, nil, 0, v.errno
	}
	ch, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, n.wrapChild(ch, fh), fuseFlags, 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	to := newName
	if np, ok := newParent.(*node); ok {
		to = np.child(newName)
	}
	v := n.rig.check(OpRename, n.child(name), to)
	if v.errno != 0 && !v.after {
		return v.errno
	}
	if errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags); errno != 0 {
		return errno
	}
	if v.errno != 0 {
		// The rename happened but the caller is told it failed, as when
		// the reply to an NFS rename is lost and its retransmission finds
		// the source gone. The library's tree follows the backing
		// directory, so later operations on the moved file use its new name.
		if flags&unix.RENAME_EXCHANGE != 0 {
			n.EmbeddedInode().ExchangeChild(name, newParent.EmbeddedInode(), newName)
		} else {
			n.EmbeddedInode().MvChild(name, newParent.EmbeddedInode(), newName, true)
		}
		return v.errno
	}
	return 0
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	from := name
	if t, ok := target.(*node); ok {
		from = t.rel()
	}
	if v := n.rig.check(OpLink, n.child(name), from); v.errno != 0 {
		if v.after {
			if _, errno := n.LoopbackNode.Link(ctx, target, name, out); errno != 0 {
				return nil, errno
			}
		}
		return nil, v.errno
	}
	return n.LoopbackNode.Link(ctx, target, name, out)
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	v := n.rig.check(OpUnlink, n.child(name))
	if v.errno != 0 && !v.after {
		return v.errno
	}
	if errno := n.LoopbackNode.Unlink(ctx, name); errno != 0 {
		return errno
	}
	return v.errno
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if v := n.rig.check(OpMkdir, n.child(name)); v.errno != 0 {
		return nil, v.errno
	}
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if v := n.rig.check(OpRmdir, n.child(name)); v.errno != 0 {
		return v.errno
	}
	return n.LoopbackNode.Rmdir(ctx, name)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if v := n.rig.check(OpSymlink, n.child(name)); v.errno != 0 {
		return nil, v.errno
	}
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

// OpendirHandle wraps the directory handle: the kernel sends a directory's
// fsync(2) as FUSE_FSYNCDIR on the handle it was opened with, and the library
// asks that handle (fs.FileFsyncdirer) before the node.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if v := n.rig.check(OpOpendir, n.rel()); v.errno != 0 {
		return nil, 0, v.errno
	}
	fh, fuseFlags, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dir{inner: fh, n: n}, fuseFlags, 0
}

// CopyFileRange unwraps the handles for the loopback (which needs its own
// type) and counts as a write into the target.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, length uint64, flags uint64) (uint32, syscall.Errno) {
	in, ok1 := fhIn.(*file)
	o, ok2 := fhOut.(*file)
	if !ok1 || !ok2 {
		return 0, syscall.ENOTSUP
	}
	v := n.rig.check(OpWrite, o.n.rel())
	if v.errno != 0 && !v.after {
		return 0, v.errno
	}
	c, errno := n.LoopbackNode.CopyFileRange(ctx, in.LoopbackFile, offIn, out, o.LoopbackFile, offOut, length, flags)
	if errno != 0 {
		return c, errno
	}
	if v.errno != 0 {
		return 0, v.errno
	}
	return c, 0
}

func (n *node) wrap(fh fs.FileHandle) fs.FileHandle {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh
	}
	return &file{LoopbackFile: lf, n: n}
}

func (n *node) wrapChild(ch *fs.Inode, fh fs.FileHandle) fs.FileHandle {
	cn, ok := ch.Operations().(*node)
	if !ok {
		return fh
	}
	return cn.wrap(fh)
}

// Getxattr, Setxattr, Removexattr and Listxattr pass through, or fail with
// ENOTSUP under Options.NoXattrs.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if n.rig.noXattrs {
		return 0, syscall.ENOTSUP
	}
	return n.LoopbackNode.Getxattr(ctx, attr, dest)
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if n.rig.noXattrs {
		return syscall.ENOTSUP
	}
	return n.LoopbackNode.Setxattr(ctx, attr, data, flags)
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if n.rig.noXattrs {
		return syscall.ENOTSUP
	}
	return n.LoopbackNode.Removexattr(ctx, attr)
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if n.rig.noXattrs {
		return 0, syscall.ENOTSUP
	}
	return n.LoopbackNode.Listxattr(ctx, dest)
}
