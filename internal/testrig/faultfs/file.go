//go:build linux

package faultfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// file is an open regular file: a loopback file whose data operations pass
// through the rules. Everything else (getattr, setattr, locks, lseek,
// allocate, release) is the loopback's.
type file struct {
	*fs.LoopbackFile
	n *node
}

var (
	_ fs.FileWriter  = (*file)(nil)
	_ fs.FileReader  = (*file)(nil)
	_ fs.FileFsyncer = (*file)(nil)
	_ fs.FileFlusher = (*file)(nil)
)

// PassthroughFd refuses passthrough: with it the kernel would read and write
// the backing file directly and no write fault could fire.
func (f *file) PassthroughFd() (int, bool) { return -1, false }

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	v := f.n.rig.check(OpWrite, f.n.rel())
	if v.errno != 0 && !v.after {
		return 0, v.errno
	}
	w, errno := f.LoopbackFile.Write(ctx, data, off)
	if errno != 0 {
		return w, errno
	}
	if v.errno != 0 {
		return 0, v.errno
	}
	return w, 0
}

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if v := f.n.rig.check(OpRead, f.n.rel()); v.errno != 0 {
		return nil, v.errno
	}
	return f.LoopbackFile.Read(ctx, buf, off)
}

// fsyncDataOnly is FUSE_FSYNC_FDATASYNC (linux/fuse.h): the request comes
// from fdatasync(2).
const fsyncDataOnly = 1

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	rel := f.n.rel()
	v := f.n.rig.check(OpFsync, rel)
	if flags&fsyncDataOnly != 0 {
		f.n.rig.mu.Lock()
		f.n.rig.datasync[rel]++
		f.n.rig.mu.Unlock()
	}
	if v.errno != 0 && !v.after {
		return v.errno
	}
	if errno := f.LoopbackFile.Fsync(ctx, flags); errno != 0 {
		return errno
	}
	return v.errno
}

func (f *file) Flush(ctx context.Context) syscall.Errno {
	v := f.n.rig.check(OpFlush, f.n.rel())
	if v.errno != 0 && !v.after {
		return v.errno
	}
	if errno := f.LoopbackFile.Flush(ctx); errno != 0 {
		return errno
	}
	return v.errno
}

// dir is an open directory. It forwards reading to the loopback's directory
// stream and puts FUSE_FSYNCDIR through the rules.
type dir struct {
	inner fs.FileHandle
	n     *node
}

var (
	_ fs.FileReaddirenter = (*dir)(nil)
	_ fs.FileSeekdirer    = (*dir)(nil)
	_ fs.FileReleasedirer = (*dir)(nil)
	_ fs.FileFsyncdirer   = (*dir)(nil)
)

func (d *dir) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	r, ok := d.inner.(fs.FileReaddirenter)
	if !ok {
		return nil, syscall.ENOTSUP
	}
	return r.Readdirent(ctx)
}

func (d *dir) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	s, ok := d.inner.(fs.FileSeekdirer)
	if !ok {
		return syscall.ENOTSUP
	}
	return s.Seekdir(ctx, off)
}

func (d *dir) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.inner.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
	}
}

func (d *dir) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	v := d.n.rig.check(OpFsyncDir, d.n.rel())
	if v.errno != 0 && !v.after {
		return v.errno
	}
	if s, ok := d.inner.(fs.FileFsyncdirer); ok {
		if errno := s.Fsyncdir(ctx, flags); errno != 0 {
			return errno
		}
	}
	return v.errno
}
