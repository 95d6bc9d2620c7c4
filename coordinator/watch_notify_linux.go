//go:build linux

package coordinator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/locking"
)

// notify rings the watcher's bell whenever the key's lock file is written
// (pending before a rename, committed after it). inotify sees only changes
// made through this host's kernel, so it only speeds up local mode; polling
// stays the fallback. It returns nil when inotify is unavailable.
//
// Watching does not create the lock file (readers leave no lock files
// behind). While it is missing, the locks directory is watched for its
// creation; once it appears the file itself is watched.
func (w *watcher) notify(ctx context.Context) (stop func()) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	dir := filepath.Join(w.c.root.Dir(), metaDir, "locks")
	name := locking.KeyHash(w.key) + ".lock"
	n := &lockNotify{fd: fd, file: filepath.Join(dir, name), name: []byte(name), dirWd: -1}
	if !n.watchFile() {
		wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
		if err != nil {
			unix.Close(fd)
			return nil
		}
		n.dirWd = wd
		// The file may have been created before the directory was watched.
		n.watchFile()
	}
	// A non-blocking descriptor goes through the runtime poller, so Close
	// ends a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, err := f.Read(buf)
			if err != nil {
				return
			}
			n.events(buf[:k])
			w.ring()
		}
	}()
	var once sync.Once
	closeF := func() { once.Do(func() { f.Close() }) }
	unhook := context.AfterFunc(ctx, closeF)
	return func() {
		unhook()
		closeF()
		<-done
	}
}

// lockNotify is the inotify state of one watcher: a watch on the lock file,
// or, until it exists, on the locks directory.
type lockNotify struct {
	fd    int
	file  string
	name  []byte
	dirWd int // the directory watch, -1 when none
	// fileOK is set once the lock file is watched.
	fileOK bool
}

// watchFile watches the lock file; it reports false when the file does not
// exist (yet) or cannot be watched. Once the file is watched the directory
// watch is dropped.
func (n *lockNotify) watchFile() bool {
	if n.fileOK {
		return true
	}
	if _, err := unix.InotifyAddWatch(n.fd, n.file, unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_DONT_FOLLOW); err != nil {
		return false
	}
	n.fileOK = true
	if n.dirWd >= 0 {
		unix.InotifyRmWatch(n.fd, uint32(n.dirWd))
		n.dirWd = -1
	}
	return true
}

// events looks through a batch of inotify events for the lock file's
// creation in the watched directory, and then watches the file.
func (n *lockNotify) events(buf []byte) {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return
		}
		nm := bytes.TrimRight(buf[unix.SizeofInotifyEvent:end], "\x00")
		if !n.fileOK && int(ev.Wd) == n.dirWd && bytes.Equal(nm, n.name) {
			n.watchFile()
		}
		buf = buf[end:]
	}
}
