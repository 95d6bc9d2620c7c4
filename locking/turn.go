package locking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Turn takes a turn on key among the processes that share one lease: those
// that adopted it from its holder, and the holder's own operations nested in
// its Lock function. They share the holder's file lock through one open file
// description, so the lock does not exclude them from each other: without
// turns, two of them could read, modify and write the key at once, and one
// update would be lost. scope names whose turns these are: the lease id, or
// a scope a holder that itself has a turn makes for the processes it hands
// the lease to (a lock within a lock), so that they do not wait for it.
//
// A turn is an exclusive lock on its own file in the locks directory,
// <key hash>.<scope hash>.turn, opened as a lock file is (O_NOFOLLOW, a
// regular file, FilePerm), waiting until it is free or ctx ends (an error
// naming the turn file, wrapping ErrNotObtained). The record of a holder
// that died (Hand) is cleared. TurnLock.End ends the turn and removes the
// file: a waiter whose file was removed while it waited finds that by
// comparing its descriptor with the name in the directory, and opens the
// next one.
func (d *LockDir) Turn(ctx context.Context, key, scope string) (*TurnLock, error) {
	name := turnName(key, scope)
	p := path.Join(LocksDir, name)
	fail := func(op string, err error) (*TurnLock, error) {
		return nil, &Error{Op: op, Key: key, Path: p, Err: err}
	}
	missing := 0 // opens that found the file removed in a row
	for {
		if err := context.Cause(ctx); err != nil {
			return fail("wait for the turn", fmt.Errorf("%w: %w", ErrNotObtained, err))
		}
		f, err := openLockFile(d, name, d.cfg.filePerm, true)
		if errors.Is(err, fs.ErrNotExist) {
			// Removed between our open and the fchmod of the file we
			// created (which a FUSE filesystem does by name) by a holder
			// that took and ended the turn meanwhile: open the next one.
			// (A locks directory gone for good ends at ctx, retried every
			// millisecond after the first few.)
			if missing++; missing > 3 {
				select {
				case <-ctx.Done():
				case <-time.After(time.Millisecond):
				}
			}
			continue
		}
		if err != nil {
			return fail("open turn file", err)
		}
		missing = 0
		fi, err := f.Stat()
		switch {
		case err != nil:
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("not a regular file (mode %v): %w", fi.Mode(), syscall.EINVAL)
		case linkCount(fi) > 1:
			// A planted hard link would have the turn lock a file elsewhere.
			err = fmt.Errorf("has %d hard links; a turn file has one: %w", linkCount(fi), syscall.EINVAL)
		}
		if err != nil {
			f.Close()
			return fail("check turn file", err)
		}
		l := &FileLock{key: key, path: p, f: f, cfg: d.cfg}
		if err := l.Lock(ctx); err != nil {
			f.Close()
			return fail("wait for the turn", err)
		}
		named, err := isNamed(d, name, f)
		if named && endedTurn(f) {
			// Removed by its holder, although the name seemed to lead to
			// it (see End).
			named = false
		}
		if named {
			t := &TurnLock{d: d, l: l, name: name}
			if fi, err := f.Stat(); err != nil || fi.Size() > 0 {
				// Scopes handed down by a holder that died.
				if err == nil {
					err = t.write()
				}
				if err != nil {
					t.End()
					return fail("clear turn file", err)
				}
			}
			return t, nil
		}
		f.Close()
		if err != nil {
			return fail("stat turn file", err)
		}
	}
}

// turnName is the name of key's turn file for scope in the locks directory.
func turnName(key, scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return KeyHash(key) + "." + hex.EncodeToString(sum[:8]) + ".turn"
}

// TurnPath returns the turn file of key for scope relative to the root.
func TurnPath(key, scope string) string { return path.Join(LocksDir, turnName(key, scope)) }

// TurnLock is a turn taken by Turn. Safe for concurrent use: the operations
// of one process that share a turn may hand scopes down at once.
type TurnLock struct {
	d    *LockDir
	l    *FileLock
	name string

	mu     sync.Mutex
	handed []string // the scopes handed down (Hand), one per line in the file
}

// End ends the turn and removes its file. Removed while held: a waiter on
// this file then moves on to a new one. (Where an open file cannot be
// removed, it stays and is taken again.) A removed file is also marked
// (turnEndedMark) before its lock is released: a waiter that then takes its
// lock does not rely on comparing the name's stat with its descriptor's
// alone, which a FUSE filesystem that answers fstat by path (the open file's
// old name, now another file's) makes agree.
func (t *TurnLock) End() {
	if removeLockFile(t.d, t.name) == nil {
		_, _ = t.l.f.WriteAt([]byte(turnEndedMark), 0)
	}
	_ = t.l.Close()
}

// turnEndedMark starts a turn file whose holder removed it (End). No record
// starts so: a record starts with turnPidPrefix.
const turnEndedMark = "\x00sharedwrite: turn ended\n"

// endedTurn reports whether f, a turn file whose lock is held, was removed by
// its last holder (End marked it).
func endedTurn(f *os.File) bool {
	b := make([]byte, len(turnEndedMark))
	n, _ := f.ReadAt(b, 0)
	return string(b[:n]) == turnEndedMark
}

// Hand records in the turn file the scope child that a holder of this turn
// hands down (a lock within a lock hands its command a scope of its own),
// until Unhand. The turns of child are good only while it is recorded
// (Handed): once its holder ends, what it handed down ends with it.
func (t *TurnLock) Hand(child string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.handed = append(t.handed, child)
	return t.write()
}

// Unhand withdraws child (Hand).
func (t *TurnLock) Unhand(child string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.handed = slices.DeleteFunc(t.handed, func(s string) bool { return s == child })
	return t.write()
}

// write puts the scopes handed down into the file, one per line.
func (t *TurnLock) write() error {
	var b []byte
	if len(t.handed) > 0 {
		// The writer's pid first: Handed compares it with the lock's holder.
		b = fmt.Appendf(b, "%s%d\n", turnPidPrefix, os.Getpid())
	}
	for _, s := range t.handed {
		b = append(append(b, s...), '\n')
	}
	if _, err := t.l.f.WriteAt(b, 0); err != nil {
		return &Error{Op: "write turn file", Key: t.l.key, Path: t.l.path, Err: err}
	}
	if err := t.l.f.Truncate(int64(len(b))); err != nil {
		return &Error{Op: "truncate turn file", Key: t.l.key, Path: t.l.path, Err: err}
	}
	return nil
}

// maxTurnRecord bounds the read of a turn file's record (Handed).
const maxTurnRecord = 1 << 20

// turnPidPrefix starts the record's first line, the pid of the process that
// wrote it. (No scope starts so: a scope starts with a lease id, which
// starts with a host name.)
const turnPidPrefix = "pid="

// Handed reports whether key's turn file for scope records child (Hand):
// whether a holder of that turn still hands child down.
func (d *LockDir) Handed(key, scope, child string) (bool, error) {
	name := turnName(key, scope)
	f, err := openLockFile(d, name, d.cfg.filePerm, false)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, &Error{Op: "open turn file", Key: key, Path: path.Join(LocksDir, name), Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTurnRecord))
	if err != nil {
		return false, &Error{Op: "read turn file", Key: key, Path: path.Join(LocksDir, name), Err: err}
	}
	lines := strings.Split(string(b), "\n")
	if !slices.Contains(lines, child) || child == "" {
		return false, nil
	}
	// A holder that died left its file as it was: the record counts only
	// while someone holds the turn, and, where the system names the lock's
	// holder, only while its writer does (a new holder clears the record
	// just after it takes the lock).
	switch err := tryLock(f); {
	case err == nil:
		_ = unlock(f)
		return false, nil
	case errors.Is(err, errWouldBlock):
	default:
		return false, &Error{Op: "flock turn file", Key: key, Path: path.Join(LocksDir, name), Err: err}
	}
	writer, err := strconv.Atoi(strings.TrimPrefix(lines[0], turnPidPrefix))
	if !strings.HasPrefix(lines[0], turnPidPrefix) || err != nil {
		return false, nil
	}
	if fi, err := f.Stat(); err == nil {
		if pid, ok := lockHolder(fi); ok && pid != writer {
			return false, nil
		}
	}
	return true, nil
}
