package locking

import (
	"os"
	"sync"
	"time"
)

// Lock file descriptors kept for reuse.
//
// Each operation opens its key's lock file, locks it, reads and writes the
// record, unlocks it and closes it. On a local filesystem the open and the
// close (openat, two fcntl, fstat, close) cost more than the record's reads,
// so there FileLock.Close keeps the unlocked descriptor for the key's next
// Open or OpenExisting, which checks with one fstatat (AT_SYMLINK_NOFOLLOW)
// that the name still leads to that very file, a regular file with one link:
// what a new open with O_NOFOLLOW and its checks would find. A lock file
// replaced meanwhile (removed, restored, a symlink or a hard link planted) is
// opened anew, and refused as before.
//
// Descriptors are kept only where the filesystem is local (reuseFS). On a
// network or FUSE filesystem the open is where the client revalidates what it
// cached of the file (NFS close-to-open; FUSE drops cached pages on open): a
// record read through an older descriptor could be stale there, on a mount
// whose locks other hosts do not see.
//
// A descriptor serves one FileLock at a time, so two FileLocks of one process
// still exclude each other (a flock belongs to the open file description).
// One that was handed out (Fd, File, SetInheritable: another process may
// share it) is closed, never kept. Kept descriptors are closed once unused
// for idleMax (a file open for writing keeps its mount from being remounted
// read-only) and by LockDir.Close.
const (
	maxIdle = 64
	idleMax = time.Second
)

// fileID is a file's device and inode.
type fileID struct{ dev, ino uint64 }

// idleLock is a kept descriptor of a key's lock file, unlocked, and what its
// FileLock knew of the record.
type idleLock struct {
	name         string // in the locks directory
	f            *os.File
	id           fileID
	whole, fresh bool
	since        time.Time
}

// idleLocks are a LockDir's kept descriptors, by key.
type idleLocks struct {
	mu     sync.Mutex
	byKey  map[string]idleLock
	timer  *time.Timer // expire, armed while byKey is not empty
	armed  bool
	closed bool
}

// reopen returns a FileLock on key's kept descriptor, nil when none is kept
// or the name no longer leads to its file (that descriptor is closed).
func (d *LockDir) reopen(key string) *FileLock {
	d.idle.mu.Lock()
	e, ok := d.idle.byKey[key]
	if ok {
		delete(d.idle.byKey, key)
	}
	d.idle.mu.Unlock()
	if !ok {
		return nil
	}
	if !stillNamed(d.dir, e.name, e.id) {
		e.f.Close()
		return nil
	}
	return &FileLock{key: key, path: LocksDir + "/" + e.name, name: e.name, f: e.f, cfg: d.cfg, dir: d,
		id: e.id, reusable: true, whole: e.whole, fresh: e.fresh}
}

// keep takes l's descriptor, unlocked, for the key's next open; false when
// it is not kept (the caller closes it).
func (d *LockDir) keep(l *FileLock, whole, fresh bool) bool {
	d.idle.mu.Lock()
	defer d.idle.mu.Unlock()
	if d.idle.closed || len(d.idle.byKey) >= maxIdle {
		return false
	}
	if _, ok := d.idle.byKey[l.key]; ok {
		return false
	}
	if d.idle.byKey == nil {
		d.idle.byKey = make(map[string]idleLock)
	}
	d.idle.byKey[l.key] = idleLock{name: l.name, f: l.f, id: l.id, whole: whole, fresh: fresh, since: time.Now()}
	if !d.idle.armed {
		d.idle.armed = true
		if d.idle.timer == nil {
			d.idle.timer = time.AfterFunc(idleMax, d.expireIdle)
		} else {
			d.idle.timer.Reset(idleMax)
		}
	}
	return true
}

// expireIdle closes the descriptors kept unused for idleMax.
func (d *LockDir) expireIdle() {
	d.idle.mu.Lock()
	defer d.idle.mu.Unlock()
	if d.idle.closed {
		return
	}
	now := time.Now()
	next := idleMax
	for k, e := range d.idle.byKey {
		if left := idleMax - now.Sub(e.since); left > 0 {
			next = min(next, left)
			continue
		}
		e.f.Close()
		delete(d.idle.byKey, k)
	}
	if len(d.idle.byKey) == 0 {
		d.idle.armed = false
		return
	}
	d.idle.timer.Reset(next)
}

// closeIdle closes the kept descriptors; none is kept after it.
func (d *LockDir) closeIdle() {
	d.idle.mu.Lock()
	es := d.idle.byKey
	d.idle.byKey, d.idle.closed = nil, true
	if d.idle.timer != nil {
		d.idle.timer.Stop()
	}
	d.idle.mu.Unlock()
	for _, e := range es {
		e.f.Close()
	}
}

// keep hands l's descriptor to its LockDir when l may be reused: opened for
// reuse, never handed out, not locked, no Lock waiting on it. l is closed
// already (Close). False: the caller closes the descriptor.
func (l *FileLock) keep() bool {
	if !l.reusable || !l.lockMu.TryLock() {
		// A Lock still waiting gets EBADF once the descriptor is closed,
		// as it always did; a kept one it would go on polling.
		return false
	}
	defer l.lockMu.Unlock()
	l.mu.Lock()
	ok := !l.exported && !l.locked
	whole, fresh := l.whole, l.fresh
	l.mu.Unlock()
	if !ok || !l.dir.keep(l, whole, fresh) {
		return false
	}
	l.mu.Lock()
	l.kept = true
	l.mu.Unlock()
	return true
}
