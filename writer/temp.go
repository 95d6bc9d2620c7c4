package writer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Temp files are named
//
//	.<name>.sw.<host>.<pid>.<start>.<random>.tmp
//
// in the target's directory: <host> is os.Hostname with '.' and '/' replaced
// by '-', <pid> the writer's process id, <start> its process start time (on
// Linux the starttime field of /proc/self/stat, in clock ticks since boot;
// elsewhere the process's start wall time in unix seconds), <random> 8 hex
// digits. <name> is shortened, keeping a hash suffix, so the whole fits 255
// bytes. A sweeper uses host, pid and start to tell whose temp it is, and the
// flock the writer holds on it to tell a live temp from an orphan.
const (
	tempMarker = ".sw."
	tempSuffix = ".tmp"
	nameMax    = 255
)

var (
	hostOnce sync.Once
	hostPart string
)

// selfPID is this process's pid as it appears in temp names, read once: a Go
// process keeps its pid (it never forks without exec), and getpid is a system
// call.
var selfPID = strconv.Itoa(os.Getpid())

// tempHost returns this host's name as it appears in temp names.
func tempHost() string {
	hostOnce.Do(func() {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "unknown"
		}
		hostPart = strings.NewReplacer(".", "-", "/", "-", "\\", "-").Replace(h)
	})
	return hostPart
}

// tempName is a parsed temp file name.
type tempName struct {
	Target string // the (possibly shortened) base name of the target
	Host   string
	PID    int
	Start  string
	Random string
}

// newTempBase returns a fresh temp base name for the target base name.
func newTempBase(target string) string {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	tail := tempMarker + tempHost() + "." + selfPID + "." + procStart() + "." + hex.EncodeToString(rb[:]) + tempSuffix
	if room := nameMax - 1 - len(tail); len(target) > room {
		sum := sha256.Sum256([]byte(target))
		suffix := "~" + hex.EncodeToString(sum[:4])
		keep := room - len(suffix)
		if keep < 0 {
			keep = 0
		}
		for keep > 0 && !utf8.RuneStart(target[keep]) {
			keep--
		}
		target = target[:keep] + suffix
	}
	return "." + target + tail
}

// parseTempName parses a base name made by newTempBase; ok is false for any
// other name. Host names hold no '.', so the fields are split from the right.
func parseTempName(base string) (tn tempName, ok bool) {
	if !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, tempSuffix) {
		return tn, false
	}
	s := strings.TrimSuffix(base[1:], tempSuffix)
	f := make([]string, 4) // random, start, pid, host
	for i := range f {
		j := strings.LastIndexByte(s, '.')
		if j < 0 {
			return tn, false
		}
		f[i], s = s[j+1:], s[:j]
	}
	if !strings.HasSuffix(s, ".sw") || len(s) < 4 {
		return tn, false
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil || pid <= 0 || len(f[0]) != 8 || f[1] == "" || f[3] == "" {
		return tn, false
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return tn, false
	}
	return tempName{Target: strings.TrimSuffix(s, ".sw"), Host: f[3], PID: pid, Start: f[1], Random: f[0]}, true
}

// IsTempOf reports whether temp's base name is one the writer gives a temp
// of target: made for target's base name, or for its shortened form (a long
// name cut to fit, with a hash of the whole).
func IsTempOf(temp, target string) bool {
	tn, ok := parseTempName(path.Base(temp))
	if !ok {
		return false
	}
	base := path.Base(target)
	if tn.Target == base {
		return true
	}
	i := strings.LastIndexByte(tn.Target, '~')
	if i < 0 {
		return false
	}
	sum := sha256.Sum256([]byte(base))
	return tn.Target[i+1:] == hex.EncodeToString(sum[:4]) && strings.HasPrefix(base, tn.Target[:i])
}

// isTempName reports whether base is a temp file name.
func isTempName(base string) bool {
	_, ok := parseTempName(base)
	return ok
}

// tempFile is a temp created by createTemp: O_EXCL, mode 0600, open for
// writing, and flocked (LOCK_EX) through a duplicate descriptor until
// release, so the flock outlives the close of File that reports write-back
// errors and lasts until the temp is renamed or removed.
type tempFile struct {
	r       *Root
	File    *os.File // open for writing; nil once closed
	Name    string   // root-relative name of the temp
	Target  string   // root-relative name of the target
	created []string // directories created for the temp, oldest first
	lock    tempLock
	hash    hash.Hash
	size    int64
	info    fs.FileInfo // fstat of the temp taken when it was closed
	// unhashed: the content was not written through hash (a Move's copy
	// made without one), so sum's sha256 is not the content's.
	unhashed bool
	gone     bool // the temp name no longer exists (renamed or removed)
	// accepted: the PreCommit hooks allowed the visible change.
	accepted bool
	// noAttrs: the temp was seen to have no extended attributes, so none
	// inherited from its directory (an ACL) to remove (see openReplaced).
	noAttrs bool
	// copied: the extended attributes copyXattrs set from the file the
	// temp was to replace, removed when they are copied from another
	// (copyXattrs) or there is none to copy from (restoreXattrs).
	copied []string
	// own: the extended attributes the temp had of its own before Sync
	// copied any (ownXattrs), set back by restoreXattrs.
	own []xattr
}

// createTemp creates a temp for target (a canonical root-relative name) in
// dir (root-relative; "" means the target's own directory), creating the
// missing directories of dir and of the target's directory (recorded for
// rollback). It guarantees on success: the temp is
// new (O_EXCL), mode 0600, open for writing, flocked by this process, and
// named per the package's temp naming. On error nothing it created is left.
// The caller must end it with discard (not committed) or release (after the
// rename made it the target).
func (r *Root) createTemp(ctx context.Context, cfg *config, target, dir string) (*tempFile, error) {
	if dir == "" {
		dir = dirOf(target)
	}
	if err := ctx.Err(); err != nil {
		return nil, newError("create temp", target, context.Cause(ctx))
	}
	created, err := r.mkdirParents(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	if td := dirOf(target); td != dir {
		more, err := r.mkdirParents(ctx, cfg, td)
		if err != nil {
			r.rollbackDirs(created, cfg)
			return nil, err
		}
		created = append(created, more...)
	}
	t := &tempFile{r: r, Target: target, created: created, hash: sha256.New()}
	for attempt := 0; ; attempt++ {
		t.Name = path.Join(dir, newTempBase(path.Base(target)))
		f, err := r.root.OpenFile(t.Name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|oNonblock, 0o600)
		if errors.Is(err, fs.ErrExist) && attempt < 8 {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) && attempt < 8 && dir != "." && !cfg.beforeLock {
			// The directory went since it was made or found: another
			// call's rollback removed it (it was empty then). A transient
			// race: make it again.
			more, merr := r.mkdirParents(ctx, cfg, dir)
			if merr == nil {
				t.created = append(t.created, more...)
				continue
			}
		}
		if err != nil {
			r.rollbackDirs(t.created, cfg)
			return nil, newError("create temp", t.Name, err)
		}
		lk, err := lockTemp(f)
		if err != nil {
			_ = f.Close()
			_ = r.root.Remove(t.Name)
			r.rollbackDirs(t.created, cfg)
			return nil, newError("lock temp", t.Name, err)
		}
		// Between the create and the flock a Sweep may have taken the temp
		// for an orphan and removed it: the flock then holds an unlinked
		// file. Make a new one (a new name) if so.
		named, err := r.tempStillNamed(f, t.Name)
		if named {
			t.File, t.lock = f, lk
			break
		}
		lk.unlock()
		_ = f.Close()
		// Removed only now that its descriptors are closed: out of
		// descriptors (EMFILE), the check failed for want of one, and a
		// removal before the close would have too. Removed also when the
		// check found the name gone: a lookup that failed spuriously (a
		// network filesystem) would leave it behind. The name is this
		// call's own (random), so nothing else is removed.
		_ = r.root.Remove(t.Name)
		if err != nil || attempt >= 8 {
			if err == nil {
				err = errors.New("removed as soon as created, again and again")
			}
			r.rollbackDirs(t.created, cfg)
			return nil, newError("create temp", t.Name, err)
		}
	}
	return t, nil
}

// tempStillNamed reports whether name is still the file f has open; false
// with a nil error when the name is gone.
func (r *Root) tempStillNamed(f *os.File, name string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	li, err := r.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return os.SameFile(fi, li), nil
}

// Write writes p to the temp and into its running sha256.
// A large p is hashed on another goroutine while it is written (see
// copyInto); on a short write, as in writeData.
func (t *tempFile) Write(p []byte) (int, error) {
	if len(p) < parallelHashMin {
		n, err := t.writeData(p)
		t.hash.Write(p[:n])
		return n, err
	}
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		t.hash.Write(p)
	}()
	n, err := t.writeData(p)
	<-hashed
	return n, err
}

// writeData writes p to the temp without hashing it: the caller hashes it
// (copyInto, on another goroutine). A short write, after which such a hash
// covers more than the temp holds, comes with its error, which the File keeps:
// nothing is committed.
func (t *tempFile) writeData(p []byte) (int, error) {
	n, err := t.File.Write(p)
	t.size += int64(n)
	if err != nil {
		return n, newError("write", t.Name, err)
	}
	return n, nil
}

// sum returns the sha256 and size of what was written so far.
func (t *tempFile) sum() (s [32]byte, size int64) {
	copy(s[:], t.hash.Sum(nil))
	return s, t.size
}

// hashContent hashes what the temp holds, read back from its name, for a
// temp whose content was not written through its hash (unhashed).
func (t *tempFile) hashContent(r *Root) error {
	f, err := r.root.OpenFile(t.Name, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return newError("hash copy: open", t.Name, err)
	}
	defer f.Close()
	t.hash.Reset()
	n, err := io.Copy(t.hash, f)
	if err != nil {
		return newError("hash copy: read", t.Name, err)
	}
	if n != t.size {
		return newError("hash copy", t.Name, fmt.Errorf("read %d bytes of a %d-byte copy: %w", n, t.size, syscall.EIO))
	}
	t.unhashed = false
	return nil
}

// closeFile fsyncs (when sync is set) and closes the temp's write descriptor,
// checking both errors (close can report NFS write-back failures). The flock
// stays held. It records the temp's fstat (unless already known) for later
// identity checks.
func (t *tempFile) closeFile(cfg *config, sync bool) error {
	if t.File == nil {
		return nil
	}
	f := t.File
	t.File = nil
	if sync {
		start := time.Now()
		err := f.Sync()
		cfg.emit("fsync", t.Name, start, t.size, err)
		if err != nil {
			_ = f.Close()
			return newError("fsync", t.Name, err)
		}
	}
	if t.info == nil {
		if fi, err := f.Stat(); err == nil {
			t.info = fi
		}
	}
	if err := f.Close(); err != nil {
		return newError("close", t.Name, err)
	}
	return nil
}

// release drops the temp's flock. Call it once the temp was renamed onto its
// target (or removed); the temp must not be used afterwards.
func (t *tempFile) release() {
	t.lock.unlock()
}

// discard undoes the temp: closes it, removes it (unless already renamed),
// drops its flock and removes the directories created for it, newest first,
// only if still empty. It returns the first error that leaves something behind.
func (t *tempFile) discard(cfg *config) error {
	start := time.Now()
	if t.File != nil {
		_ = t.File.Close()
		t.File = nil
	}
	var first error
	if !t.gone {
		if err := t.r.root.Remove(t.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			first = newError("remove temp", t.Name, err)
		}
		t.gone = true
	}
	t.release()
	t.r.rollbackDirs(t.created, cfg)
	t.created = nil
	cfg.emit("rollback", t.Name, start, 0, first)
	return first
}

// errDirsUnderLock: under BeforeLock a missing directory is not created.
var errDirsUnderLock = errors.New("missing directories are created only under the target's lock (BeforeLock)")

// mkdirParents creates the missing directories of dir (root-relative) with
// mode 0777 minus umask, through mkdirAll (transient errors retried, a
// concurrent creator's EEXIST is success, a parent vanished by another call's
// rollback restarts the walk), and returns those it created, oldest first.
// On error nothing it created is left.
func (r *Root) mkdirParents(ctx context.Context, cfg *config, dir string) ([]string, error) {
	if dir == "." || dir == "" {
		return nil, nil
	}
	if fi, err := r.root.Lstat(dir); err == nil && fi.IsDir() {
		return nil, nil
	}
	if cfg.beforeLock {
		return nil, newError("create temp", dir, withCause(errDirsUnderLock, fs.ErrNotExist))
	}
	return r.mkdirAll(ctx, dir, 0o777, cfg)
}
