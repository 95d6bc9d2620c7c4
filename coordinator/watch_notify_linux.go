//go:build linux

package coordinator

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/locking"
)

// notify rings the watcher's bell whenever the key's lock file is written
// (pending before a rename, committed after it). inotify sees only changes
// made through this host's kernel, so it only speeds up local mode; polling
// stays the fallback. It returns nil when inotify is unavailable.
func (w *watcher) notify(ctx context.Context) (stop func()) {
	// The lock file must exist to be watched: opening it creates it.
	if fl, err := w.c.locks.Open(w.key); err == nil {
		fl.Close()
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	path := filepath.Join(w.c.root.Dir(), metaDir, "locks", locking.KeyHash(w.key)+".lock")
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(fd)
		return nil
	}
	// A non-blocking descriptor goes through the runtime poller, so Close
	// ends a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			w.ring()
		}
	}()
	unhook := context.AfterFunc(ctx, func() { f.Close() })
	return func() {
		unhook()
		f.Close()
		<-done
	}
}
