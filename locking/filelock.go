package locking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/durable"
	"github.com/sharedwrite/sharedwrite/internal/errno"
)

// Directory names under the root; see FORMAT.md.
const (
	StateDir = ".sharedwrite"
	LocksDir = ".sharedwrite/locks"
)

// LockDir is the open .sharedwrite/locks directory of one root. Safe for
// concurrent use.
type LockDir struct {
	root *os.Root
	cfg  config
	// missing: the locks directory did not exist at OpenLockDir and could
	// not be made (the refusal, EROFS or EACCES: a read-only replica). dir
	// is then nil until a writer has made it (see locksDir), and is set
	// under mu.
	missing error
	mu      sync.Mutex
	dir     *os.File // .sharedwrite/locks, for openat(2) with O_NOFOLLOW
	// reuse: lock file descriptors are kept for reuse (filelock_reuse.go),
	// in idle.
	reuse bool
	idle  idleLocks
}

// OpenLockDir opens (creating when missing) <root>/.sharedwrite and
// <root>/.sharedwrite/locks through root. A directory it creates gets
// DirPerm (default 02770: setgid, so lock files inherit the group) and the
// root directory's group where the process may set it. A component that is a
// symlink or not a directory is refused: a planted symlink never redirects the
// locks outside the root (os.Root refuses escapes; the explicit checks refuse
// redirection inside the root too).
//
// Where the locks directory is missing and cannot be made (EROFS: a
// read-only mount of a volume no writer has opened yet; EACCES), the
// LockDir still opens: no key has a lock file, so OpenExisting finds none
// (fs.ErrNotExist), and Open fails with the refusal. Each call looks for the
// directory again, so once a writer has made it the lock files in it are
// found.
//
// On a local filesystem the LockDir keeps the descriptors of closed
// FileLocks for the next Open of their keys (see FileLock.Close); Close
// closes them.
func OpenLockDir(root *os.Root, opts ...Option) (*LockDir, error) {
	d := &LockDir{root: root, cfg: newConfig(opts)}
	dir, err := d.openDir()
	if err != nil {
		if !d.cannotMake(err) {
			return nil, err
		}
		d.missing = err
	}
	d.dir = dir
	d.reuse = dir != nil && reuseFS(dir)
	return d, nil
}

// openDir makes (when missing) and opens the locks directory.
func (d *LockDir) openDir() (*os.File, error) {
	rootInfo, err := d.root.Stat(".")
	if err != nil {
		return nil, &Error{Op: "stat root", Path: ".", Err: err}
	}
	for _, name := range []string{StateDir, LocksDir} {
		if err := ensureDir(d.root, name, d.cfg.dirPerm, rootInfo); err != nil {
			return nil, err
		}
	}
	dir, err := d.root.Open(LocksDir)
	if err != nil {
		return nil, &Error{Op: "open", Path: LocksDir, Err: err}
	}
	if err := sameDir(d.root, LocksDir, dir); err != nil {
		dir.Close()
		return nil, err
	}
	return dir, nil
}

// cannotMake reports whether err, from openDir, is the refusal to make a
// locks directory that does not exist (EROFS or EACCES on its mkdir).
func (d *LockDir) cannotMake(err error) bool {
	if !errors.Is(err, syscall.EROFS) && !errors.Is(err, fs.ErrPermission) {
		return false
	}
	_, lerr := d.root.Lstat(LocksDir)
	return errors.Is(lerr, fs.ErrNotExist)
}

// locksDir returns the open locks directory. Where it was missing at
// OpenLockDir, it is looked for (and its making tried) again: until it
// exists, a lock file to open is missing (ENOENT), and one to create fails
// with the refusal.
func (d *LockDir) locksDir(create bool) (*os.File, error) {
	if d.missing == nil {
		return d.dir, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dir != nil {
		return d.dir, nil
	}
	dir, err := d.openDir()
	if err != nil {
		if create || !d.cannotMake(err) {
			return nil, err
		}
		return nil, syscall.ENOENT
	}
	d.dir = dir
	return dir, nil
}

// MkdirShared creates the directory name under root, or checks that it is
// one, as the lock directory is made: with perm (setgid included) and the
// root's group, so that replicas running as other users of that group can
// share it.
func MkdirShared(root *os.Root, name string, perm fs.FileMode) error {
	rootInfo, err := root.Stat(".")
	if err != nil {
		return &Error{Op: "stat root", Path: ".", Err: err}
	}
	return ensureDir(root, name, perm, rootInfo)
}

func ensureDir(root *os.Root, name string, perm fs.FileMode, rootInfo fs.FileInfo) error {
	err := root.Mkdir(name, 0o700)
	switch {
	case err == nil:
		// Mkdir applies the umask and cannot set setgid; set the mode and the
		// root's group explicitly. Both are best effort: a process outside the
		// root's group keeps its own group, and the kernel drops setgid for it.
		if gid, ok := fileGID(rootInfo); ok {
			_ = root.Lchown(name, -1, gid)
		}
		if err := root.Chmod(name, perm); err != nil {
			return &Error{Op: "chmod", Path: name, Err: err}
		}
	case errors.Is(err, fs.ErrExist):
	default:
		return &Error{Op: "mkdir", Path: name, Err: err}
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return &Error{Op: "lstat", Path: name, Err: err}
	}
	if !fi.IsDir() {
		return &Error{Op: "check", Path: name, Err: fmt.Errorf("not a directory (mode %v): %w", fi.Mode(), syscall.ENOTDIR)}
	}
	return nil
}

func sameDir(root *os.Root, name string, f *os.File) error {
	li, err := root.Lstat(name)
	if err != nil {
		return &Error{Op: "lstat", Path: name, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return &Error{Op: "fstat", Path: name, Err: err}
	}
	if !li.IsDir() || !fi.IsDir() || !os.SameFile(li, fi) {
		return &Error{Op: "check", Path: name, Err: errors.New("replaced while being opened")}
	}
	return nil
}

// Close closes the directory handle and the descriptors kept for reuse. Open
// FileLocks stay valid.
func (d *LockDir) Close() error {
	d.closeIdle()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dir == nil {
		return nil
	}
	return d.dir.Close()
}

// LockPath returns the lock file of key relative to the root.
func LockPath(key string) string { return path.Join(LocksDir, KeyHash(key)+".lock") }

// Open opens (creating with FilePerm when missing) the lock file of key,
// O_RDWR (exclusive locks over NFS need write access) with O_NOFOLLOW and
// O_CLOEXEC, and checks it is a regular file. Lock files are never unlinked:
// unlinking would let a waiter lock an orphaned inode while a newcomer locks a
// new file of the same name. The FileLock is not locked yet. A descriptor of
// the file kept from an earlier FileLock (see Close) is used instead of a new
// one when the name still leads to its file, a regular file with one link.
func (d *LockDir) Open(key string) (*FileLock, error) {
	return d.open(key, true)
}

// OpenExisting opens the lock file of key as Open does (O_RDWR, O_NOFOLLOW,
// regular file with one link), but never creates it: a key no one has locked
// yet has no lock file, and the error then wraps fs.ErrNotExist. Readers use
// it so that names merely read leave no lock file behind.
//
// Where write access is refused (EROFS: a read-only mount of the volume;
// EACCES: a user who may read the lock file but not write it), the file is
// opened read-only instead, so that a reader still reads its record. Such a
// FileLock cannot be locked: Lock and TryLock fail with the refusal, and the
// record writes with ErrNotHeld. Reading needs no lock, and a writer opens
// with Open, which still fails.
func (d *LockDir) OpenExisting(key string) (*FileLock, error) {
	return d.open(key, false)
}

func (d *LockDir) open(key string, create bool) (*FileLock, error) {
	if d.reuse {
		if l := d.reopen(key); l != nil {
			return l, nil
		}
	}
	name := KeyHash(key) + ".lock"
	p := LocksDir + "/" + name
	f, err := openLockFile(d, name, d.cfg.filePerm, create)
	var readOnly error
	if !create && (errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)) {
		readOnly = err
		f, err = openLockFileReadOnly(d, name)
	}
	if err != nil {
		return nil, &Error{Op: "open lock file", Key: key, Path: p, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &Error{Op: "fstat lock file", Key: key, Path: p, Err: err}
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &Error{Op: "check lock file", Key: key, Path: p, Err: fmt.Errorf("not a regular file (mode %v)", fi.Mode())}
	}
	// O_NOFOLLOW stops a planted symlink, not a planted hard link to a file
	// elsewhere (outside the root, even): the record would be written into
	// it. A lock file is only ever created here, with one link.
	if n := linkCount(fi); n > 1 {
		f.Close()
		return nil, &Error{Op: "check lock file", Key: key, Path: p, Err: fmt.Errorf("has %d hard links; a lock file has one", n)}
	}
	l := &FileLock{key: key, path: p, name: name, f: f, cfg: d.cfg, readOnly: readOnly, dir: d}
	if d.reuse && readOnly == nil {
		l.id, l.reusable = idOf(fi)
	}
	return l, nil
}

// FileLock is an advisory exclusive lock on one key's lock file, and the lock
// record kept in it. Safe for concurrent use; Lock blocks.
type FileLock struct {
	key, path string
	name      string // in the locks directory
	f         *os.File
	cfg       config
	// reusable: its LockDir may keep f for the key's next open when it is
	// closed (filelock_reuse.go); id is f's file.
	reusable bool
	id       fileID
	// readOnly: f was opened read-only (OpenExisting), for this refusal of
	// write access; it is never locked.
	readOnly error

	lockMu  sync.Mutex // serialises Lock and TryLock
	mu      sync.Mutex // guards the fields below; never held while waiting
	locked  bool
	adopted bool
	waited  time.Duration
	// whole: the file was seen to hold a whole record (by the last read,
	// or a write). Records are never truncated, so a write then needs no
	// fstat to tell a first write.
	whole bool
	// fresh: this FileLock wrote the record's first bytes, not yet flushed
	// by a full fsync (syncRecord).
	fresh bool
	// dir is the locks directory the file was opened in (nil: adopted),
	// fsynced with the record's first flush (syncRecord).
	dir *LockDir
	// closed: Close was called; kept: f went to dir for reuse then (it may
	// serve another FileLock now); exported: f was handed out (Fd, File,
	// SetInheritable), so it is never kept.
	closed, kept, exported bool
}

// AdoptFileLock wraps an inherited descriptor that is already locked (a
// command run by `lock -- CMD` finds it in its environment). The lock belongs
// to the parent: Unlock on an adopted FileLock does nothing (unlocking would
// release the parent's lock, which shares the open file description), and
// Close closes only this descriptor.
func AdoptFileLock(fd uintptr, key string) (*FileLock, error) {
	p := LockPath(key)
	// Checked before os.NewFile: an *os.File dropped on an error path would
	// close the caller's descriptor whenever the garbage collector ran.
	if err := checkInheritedFd(fd); err != nil {
		return nil, &Error{Op: "adopt lock file", Key: key, Path: p, Err: err}
	}
	f := os.NewFile(fd, p)
	if f == nil {
		return nil, &Error{Op: "adopt lock file", Key: key, Path: p, Err: os.ErrInvalid}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{Op: "adopt lock file", Key: key, Path: p, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Op: "adopt lock file", Key: key, Path: p, Err: fmt.Errorf("not a regular file (mode %v)", fi.Mode())}
	}
	return &FileLock{key: key, path: p, f: f, cfg: newConfig(nil), locked: true, adopted: true}, nil
}

// Key returns the key the lock is for.
func (l *FileLock) Key() string { return l.key }

// Path returns the lock file's path relative to the root.
func (l *FileLock) Path() string { return l.path }

// Fd returns the descriptor, e.g. to hand it to a child process (then Close
// closes it: it is never kept for reuse). After Close it is ^uintptr(0), as
// for a closed *os.File.
func (l *FileLock) Fd() uintptr {
	if l.export() {
		return ^uintptr(0)
	}
	return l.f.Fd()
}

// File returns the open lock file, e.g. for exec.Cmd.ExtraFiles (then Close
// closes it: it is never kept for reuse). After a Close that kept the
// descriptor for reuse it is nil.
func (l *FileLock) File() *os.File {
	if l.export() {
		return nil
	}
	return l.f
}

// export marks f as handed out and reports whether it was kept for reuse
// (and is no longer l's).
func (l *FileLock) export() (kept bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exported = true
	return l.kept
}

// Lock takes the exclusive lock, waiting until it is free or ctx ends.
// flock(2) cannot be interrupted, so the wait polls LOCK_NB with a short
// growing backoff (PollInterval). On ctx end it returns a *HolderError
// wrapping ErrNotObtained and ctx's error, naming the pid holding the lock
// where the system tells (/proc/locks on Linux); the lock is then not held.
func (l *FileLock) Lock(ctx context.Context) error {
	l.lockMu.Lock()
	defer l.lockMu.Unlock()
	if locked, closed := l.state(); locked {
		return nil
	} else if closed {
		return &Error{Op: "flock", Key: l.key, Path: l.path, Err: os.ErrClosed}
	}
	if l.readOnly != nil {
		return &Error{Op: "flock", Key: l.key, Path: l.path, Err: l.readOnly}
	}
	start := time.Now()
	backoff := l.cfg.pollMin
	var t *time.Timer
	for {
		err := tryLock(l.f)
		if err == nil {
			l.setLocked(true, time.Since(start))
			return nil
		}
		if !errors.Is(err, errWouldBlock) {
			return &Error{Op: "flock", Key: l.key, Path: l.path, Err: err}
		}
		// A quarter of the interval at most: jitter's 1 ms floor would
		// double the sub-millisecond polls.
		d := backoff + time.Duration(mrand.Int64N(int64(backoff/4)+1))
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		} else {
			t.Reset(d)
		}
		select {
		case <-ctx.Done():
			waited := time.Since(start)
			l.setLocked(false, waited)
			pid, _ := l.Holder()
			return &HolderError{Key: l.key, PID: pid, Waited: waited, Err: fmt.Errorf("%w: %w", ErrNotObtained, context.Cause(ctx))}
		case <-t.C:
		}
		if backoff *= 2; backoff > l.cfg.pollMax {
			backoff = l.cfg.pollMax
		}
	}
}

// state says whether l is locked, and whether it was closed.
func (l *FileLock) state() (locked, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.locked, l.closed
}

func (l *FileLock) setLocked(locked bool, waited time.Duration) {
	l.mu.Lock()
	l.locked, l.waited = locked, waited
	l.mu.Unlock()
}

// TryLock takes the lock if it is free, without waiting.
func (l *FileLock) TryLock() (bool, error) {
	l.lockMu.Lock()
	defer l.lockMu.Unlock()
	if locked, closed := l.state(); locked {
		return true, nil
	} else if closed {
		return false, &Error{Op: "flock", Key: l.key, Path: l.path, Err: os.ErrClosed}
	}
	if l.readOnly != nil {
		return false, &Error{Op: "flock", Key: l.key, Path: l.path, Err: l.readOnly}
	}
	err := tryLock(l.f)
	if err == nil {
		l.setLocked(true, 0)
		return true, nil
	}
	if errors.Is(err, errWouldBlock) {
		return false, nil
	}
	return false, &Error{Op: "flock", Key: l.key, Path: l.path, Err: err}
}

// Waited returns how long the last Lock waited (including the polling delay
// after the lock became free).
func (l *FileLock) Waited() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waited
}

// Holder returns the pid holding a lock on the file, where the system can
// tell (Linux: /proc/locks; it may be this process).
func (l *FileLock) Holder() (pid int, ok bool) {
	fi, err := l.f.Stat()
	if err != nil {
		return 0, false
	}
	return lockHolder(fi)
}

// Unlock releases the lock. It is a no-op for an adopted lock (see
// AdoptFileLock) and for a lock not held.
func (l *FileLock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.locked || l.adopted {
		return nil
	}
	if err := unlock(l.f); err != nil {
		return &Error{Op: "unlock", Key: l.key, Path: l.path, Err: err}
	}
	l.locked = false
	return nil
}

// Close unlocks (unless adopted) and closes the descriptor. The file stays.
// On a local filesystem the LockDir may keep the descriptor, unlocked, for
// the key's next Open or OpenExisting instead (never one handed out by Fd,
// File or SetInheritable; see filelock_reuse.go). Either way the FileLock
// cannot be used after Close: Lock and TryLock fail with os.ErrClosed.
func (l *FileLock) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.Unlock()
	if err == nil && l.keep() {
		return nil
	}
	if cerr := l.f.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = &Error{Op: "close", Key: l.key, Path: l.path, Err: cerr}
	}
	return err
}

// SetInheritable clears (true) or sets (false) close-on-exec on the
// descriptor, so that `lock -- CMD` can pass the locked descriptor to CMD.
// Prefer exec.Cmd.ExtraFiles, which needs no change here.
func (l *FileLock) SetInheritable(on bool) error {
	if l.export() {
		return &Error{Op: "fcntl F_SETFD", Key: l.key, Path: l.path, Err: os.ErrClosed}
	}
	if err := setInheritable(l.f, on); err != nil {
		return &Error{Op: "fcntl F_SETFD", Key: l.key, Path: l.path, Err: err}
	}
	return nil
}

// ReadRecord reads the lock record. A brand-new (empty) lock file is the zero
// Record; a short, torn or garbage record is ErrCorruptRecord, never zero.
// It can be called without holding the lock (watchers poll it); the result is
// then only a snapshot.
func (l *FileLock) ReadRecord() (Record, error) {
	buf := recordBuf()
	defer putRecordBuf(buf)
	n, err := l.readRaw(buf)
	if err != nil {
		return Record{}, err
	}
	r, derr := decodeRecord(buf[:], n)
	if derr != nil {
		return Record{}, &Error{Op: "read record", Key: l.key, Path: l.path, Err: fmt.Errorf("%w: %w", ErrCorruptRecord, derr)}
	}
	return r, nil
}

// readRaw reads the record's bytes into buf; n is how many the file holds
// (fewer than recordSize: a new or a torn file).
func (l *FileLock) readRaw(buf *[recordSize]byte) (n int, err error) {
	n, err = l.f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, &Error{Op: "read record", Key: l.key, Path: l.path, Err: err}
	}
	l.mu.Lock()
	closed := l.closed
	if !closed {
		// Short now (a new file; or one cut short outside sharedwrite
		// while its descriptor was kept for reuse): the next write looks.
		l.whole = n == recordSize
	}
	l.mu.Unlock()
	if closed {
		// f may serve another FileLock now (kept for reuse).
		return 0, &Error{Op: "read record", Key: l.key, Path: l.path, Err: os.ErrClosed}
	}
	return n, nil
}

// Salvage is what SalvageRecord could read of a corrupt record.
type Salvage struct {
	Record Record // the sections that were sound; the others empty
	// FloorPending and Committed say which sections were sound.
	FloorPending, Committed bool
}

// SalvageRecord reads what is still sound of the record: each section whose
// header and checksum hold. For a record ReadRecord refuses with
// ErrCorruptRecord, before RewriteRecord replaces it. A record of another
// format version is not salvaged (ErrForeignRecord): it must not be
// replaced by this build.
func (l *FileLock) SalvageRecord() (Salvage, error) {
	buf := recordBuf()
	defer putRecordBuf(buf)
	n, err := l.readRaw(buf)
	if err != nil {
		return Salvage{}, err
	}
	r, a, c, err := salvageRecord(buf[:], n)
	if err != nil {
		return Salvage{}, &Error{Op: "salvage record", Key: l.key, Path: l.path, Err: err}
	}
	return Salvage{Record: r, FloorPending: a, Committed: c}, nil
}

// RewriteRecord replaces the whole record with r (one pwrite of all 1024
// bytes, then fsync): the repair of a corrupt record, which WriteFloorPending
// and WriteCommitted refuse to write into. Requires the lock (ErrNotHeld
// otherwise).
func (l *FileLock) RewriteRecord(r Record) error {
	b, err := encodeRecord(r)
	if err != nil {
		return &Error{Op: "rewrite record", Key: l.key, Path: l.path, Err: err}
	}
	if !l.holds() {
		return &Error{Op: "rewrite record", Key: l.key, Path: l.path, Err: ErrNotHeld}
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return &Error{Op: "rewrite record", Key: l.key, Path: l.path, Err: err}
	}
	l.mu.Lock()
	l.whole = true
	l.mu.Unlock()
	if err := l.f.Sync(); err != nil {
		return &Error{Op: "fsync record", Key: l.key, Path: l.path, Err: err}
	}
	return nil
}

// WriteFloorPending writes floor and pending in one pwrite and fsyncs, before
// a commit's rename. Requires the lock (ErrNotHeld otherwise).
func (l *FileLock) WriteFloorPending(f Floor, p Version) error {
	buf := recordBuf()
	defer putRecordBuf(buf)
	b := sectionA(buf)
	if err := encodeSectionA(b, f, p); err != nil {
		return &Error{Op: "write record", Key: l.key, Path: l.path, Err: err}
	}
	if err := l.writeSection(b[:], 0, "write floor/pending"); err != nil {
		return err
	}
	return l.syncRecord()
}

// syncRecord flushes the record. One rewritten in place needs its data
// flushed, not its times: fdatasync. The first flush after the record's first
// write (into a file just made) is a full fsync: the mode given to the file
// then is metadata that fdatasync need not flush; and the locks directory is
// fsynced too, for the file's name: a crash must not lose the record (in
// local mode the token of the next holder comes from its floor). A directory
// fsync the filesystem refuses (EINVAL) is passed over.
func (l *FileLock) syncRecord() error {
	l.mu.Lock()
	full, closed := l.fresh, l.closed
	l.mu.Unlock()
	if closed {
		return &Error{Op: "fsync record", Key: l.key, Path: l.path, Err: os.ErrClosed}
	}
	flush := durable.SyncData
	if full {
		flush = (*os.File).Sync
	}
	if err := flush(l.f); err != nil {
		return &Error{Op: "fsync record", Key: l.key, Path: l.path, Err: err}
	}
	if full && l.dir != nil {
		if err := l.dir.syncDir(); err != nil && !errno.IsSyncRefusal(err) {
			return &Error{Op: "fsync locks directory", Key: l.key, Path: LocksDir, Err: err}
		}
	}
	if full {
		l.mu.Lock()
		l.fresh = false
		l.mu.Unlock()
	}
	return nil
}

// WriteCommitted writes the committed version with one pwrite, without fsync:
// after a crash, a holder whose fresh read matches pending promotes it.
// Requires the lock (ErrNotHeld otherwise).
func (l *FileLock) WriteCommitted(v Version) error {
	buf := recordBuf()
	defer putRecordBuf(buf)
	b := sectionB(buf)
	if err := encodeSectionB(b, v); err != nil {
		return &Error{Op: "write record", Key: l.key, Path: l.path, Err: err}
	}
	return l.writeSection(b[:], offCommitted, "write committed")
}

// SyncRecord fsyncs the record: what WriteCommitted wrote is then on disk.
// A caller needs it only when it removes something the pending record alone
// would still need after a crash (a copytruncate marker).
func (l *FileLock) SyncRecord() error { return l.syncRecord() }

// holds says whether this FileLock holds the lock.
func (l *FileLock) holds() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.locked
}

// writeSection writes b at off in the record, the whole record when the file
// is empty (and then sets fresh).
func (l *FileLock) writeSection(b []byte, off int64, op string) error {
	first := false
	l.mu.Lock()
	locked, whole := l.locked, l.whole
	l.mu.Unlock()
	if !locked {
		return &Error{Op: op, Key: l.key, Path: l.path, Err: ErrNotHeld}
	}
	if !whole {
		fi, err := l.f.Stat()
		if err != nil {
			return &Error{Op: op, Key: l.key, Path: l.path, Err: err}
		}
		switch size := fi.Size(); {
		case size == 0:
			// First write: the whole record, so the file is never short.
			full := make([]byte, recordSize)
			copy(full[off:], b)
			b, off, first = full, 0, true
		case size < recordSize:
			return &Error{Op: op, Key: l.key, Path: l.path, Err: fmt.Errorf("%w: record is %d bytes", ErrCorruptRecord, size)}
		}
	}
	if _, err := l.f.WriteAt(b, off); err != nil {
		return &Error{Op: op, Key: l.key, Path: l.path, Err: err}
	}
	if off == 0 && len(b) == recordSize {
		l.mu.Lock()
		l.whole = true
		l.fresh = l.fresh || first
		l.mu.Unlock()
	}
	return nil
}
