//go:build linux

package writer

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// copyRange copies src into the fresh temp t with copy_file_range(2) in
// steps of moveBlockSize: within one filesystem (also across two bind mounts of it) the
// kernel copies without passing the data through user space, as cp does.
// When hash is set, each copied range is read back from the temp and hashed
// while the copy goes on, so t's sha256 is of exactly what the temp holds. It returns
// errNoCopyRange, having written nothing, when the kernel refuses the first
// step (another filesystem: EXDEV; no support: EINVAL, ENOSYS, EOPNOTSUPP);
// the caller then copies through a buffer.
func copyRange(ctx context.Context, r *Root, t *tempFile, src *os.File, hash bool) error {
	var rd *os.File
	if hash {
		var err error
		rd, err = r.root.OpenFile(t.Name, os.O_RDONLY|oNoFollow, 0)
		if err != nil {
			return newError("copy: open temp", t.Name, err)
		}
		defer rd.Close()
	}
	sconn, err := src.SyscallConn()
	if err != nil {
		return newError("copy", t.Name, err)
	}
	dconn, err := t.File.SyscallConn()
	if err != nil {
		return newError("copy", t.Name, err)
	}

	// Two goroutines behind the copy: one reads each copied range back from
	// the temp into a block, the other hashes the blocks in order, so the
	// read-back and the hash (the slowest step) overlap too.
	type span struct{ off, n int64 }
	todo := make(chan span, moveBlocks)
	free := make(chan *moveBlock, moveBlocks)
	for range moveBlocks {
		b := moveBlockPool.Get().(*moveBlock)
		defer moveBlockPool.Put(b)
		free <- b
	}
	toHash := make(chan *moveBlock, moveBlocks)
	var herr error
	go func() {
		defer close(toHash)
		for s := range todo {
			if herr != nil {
				continue
			}
			b := <-free
			b.n = int(s.n)
			if _, err := rd.ReadAt(b.buf[:b.n], s.off); err != nil {
				herr = newError("copy: read back", t.Name, err)
				free <- b
				continue
			}
			toHash <- b
		}
	}()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			t.hash.Write(b.buf[:b.n])
			free <- b
		}
	}()
	finish := func(err error) error {
		close(todo)
		<-hashed
		if err == nil {
			err = herr // toHash closed after herr was set
		}
		return err
	}

	wb := writeBehind{f: t.File, name: t.Name}
	db := newDropBehind(src)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return finish(newError("copy", t.Name, context.Cause(ctx)))
		}
		var n int
		var cerr error
		err := sconn.Control(func(sfd uintptr) {
			err := dconn.Control(func(dfd uintptr) {
				roff, woff := off, off
				for {
					n, cerr = unix.CopyFileRange(int(sfd), &roff, int(dfd), &woff, moveBlockSize, 0)
					if !errors.Is(cerr, unix.EINTR) {
						return
					}
				}
			})
			if err != nil {
				cerr = err
			}
		})
		if err != nil {
			cerr = err
		}
		switch {
		case cerr != nil && off == 0 && isErrno(cerr, unix.EXDEV, unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP, unix.EBADF):
			_ = finish(nil)
			t.hash.Reset()
			return errNoCopyRange
		case cerr != nil:
			return finish(newError2("copy_file_range", src.Name(), t.Name, cerr))
		case n == 0:
			t.size = off
			return finish(nil)
		}
		if hash {
			todo <- span{off, int64(n)}
		}
		off += int64(n)
		if err := wb.wrote(off); err != nil {
			return finish(err)
		}
		db.read(off)
	}
}

// writeBehindStep is how much copied data is handed to the kernel's
// write-back at a time (see writeBehind).
const writeBehindStep = 32 << 20

// writeBehind starts the write-back of a temp's pages while the copy goes
// on, so that its fsync need not write the whole file at the end: with the
// default dirty_background_ratio (10% of memory) a copy of a few GiB would
// otherwise stay in the page cache until the fsync, which then writes it all
// while nothing else runs. sync_file_range(SYNC_FILE_RANGE_WRITE) only
// queues the writes; it neither waits for them nor makes anything durable:
// the fsync before commit still does that, and still reports any write-back
// error (the error stays recorded on the file until fsync reads it).
type writeBehind struct {
	f    *os.File
	name string // the temp's root-relative name, for errors
	done int64  // bytes handed to write-back so far
	off  bool   // the filesystem refused it: stop trying
}

// wrote records that the temp holds end bytes and starts the write-back of
// each full step not yet started. An errno that means "not supported here"
// turns it off; any other is returned (the copy then fails, nothing
// committed).
func (w *writeBehind) wrote(end int64) error {
	if w.off || end-w.done < writeBehindStep {
		return nil
	}
	n := (end - w.done) / writeBehindStep * writeBehindStep
	err := unix.SyncFileRange(int(w.f.Fd()), w.done, n, unix.SYNC_FILE_RANGE_WRITE)
	for errors.Is(err, unix.EINTR) {
		err = unix.SyncFileRange(int(w.f.Fd()), w.done, n, unix.SYNC_FILE_RANGE_WRITE)
	}
	switch {
	case err == nil:
		w.done += n
	case isErrno(err, unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP, unix.ESPIPE):
		w.off = true
	default:
		return newError("copy: start write-back of", w.name, err)
	}
	return nil
}

// adviseSequential tells the kernel that src will be read once from start
// to end (a larger read-ahead). Only a hint: errors are ignored.
func adviseSequential(src *os.File) {
	_ = unix.Fadvise(int(src.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

// dropBehind drops the pages of src that have been copied from the page
// cache as the copy goes on. Move unlinks src once dst is committed, and the
// last close of an unlinked file frees its cached pages in one go (about
// 0.2 s per cached GiB, after everything else is done); dropped block by
// block they are freed while the hash, the slowest step, still runs. Only
// clean pages are dropped: when cachestat(2) reports a dirty page or one
// under write-back in the range (src written just before and not yet
// flushed), or cannot tell (before Linux 6.5), the pages are left alone,
// since POSIX_FADV_DONTNEED would first write them to the disk, a write of a
// file about to be deleted. Only a hint: errors are ignored. Not safe for
// concurrent use.
type dropBehind struct {
	fd   int
	done int64 // bytes of src dropped (or skipped) so far
	off  bool
}

func newDropBehind(src *os.File) *dropBehind {
	return &dropBehind{fd: int(src.Fd())}
}

// read records that src has been copied up to end.
func (d *dropBehind) read(end int64) {
	if d.off || end-d.done < writeBehindStep {
		return
	}
	rng := unix.CachestatRange{Off: uint64(d.done), Len: uint64(end - d.done)}
	var st unix.Cachestat_t
	switch err := unix.Cachestat(uint(d.fd), &rng, &st, 0); {
	case err != nil:
		d.off = true
		return
	case st.Dirty == 0 && st.Writeback == 0:
		_ = unix.Fadvise(d.fd, d.done, end-d.done, unix.FADV_DONTNEED)
	}
	d.done = end
}
