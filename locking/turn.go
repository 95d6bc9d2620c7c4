package locking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"syscall"
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
// naming the turn file, wrapping ErrNotObtained). The returned function ends
// the turn and removes the file: a waiter whose file was removed while it
// waited finds that by comparing its descriptor with the name in the
// directory, and opens the next one.
func (d *LockDir) Turn(ctx context.Context, key, scope string) (end func(), err error) {
	name := turnName(key, scope)
	p := path.Join(LocksDir, name)
	fail := func(op string, err error) (func(), error) {
		return nil, &Error{Op: op, Key: key, Path: p, Err: err}
	}
	for {
		if err := context.Cause(ctx); err != nil {
			return fail("wait for the turn", fmt.Errorf("%w: %w", ErrNotObtained, err))
		}
		f, err := openLockFile(d, name, d.cfg.filePerm, true)
		if err != nil {
			return fail("open turn file", err)
		}
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
		if named {
			return func() {
				// Removed while held: a waiter on this file then moves on
				// to a new one. (Where an open file cannot be removed, it
				// stays and is taken again.)
				_ = removeLockFile(d, name)
				_ = l.Close()
			}, nil
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
