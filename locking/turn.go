package locking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
)

// Turn takes the turn of the lease leaseID on key among the processes that
// adopted that lease from its holder. They share the holder's file lock
// through one open file description, so the lock does not exclude them from
// each other: without turns, two of them could read, modify and write the
// key at once, and one update would be lost.
//
// A turn is an exclusive lock on its own file in the locks directory,
// <key hash>.<lease hash>.turn, opened as a lock file is (O_NOFOLLOW, a
// regular file, FilePerm), waiting until it is free or ctx ends (a
// *HolderError wrapping ErrNotObtained). The returned function ends the turn
// and removes the file: the lease's turns end with it. A waiter whose file
// was removed while it waited finds that by comparing its descriptor with
// the name, and opens the next one.
func (d *LockDir) Turn(ctx context.Context, key, leaseID string) (end func(), err error) {
	sum := sha256.Sum256([]byte(leaseID))
	name := KeyHash(key) + "." + hex.EncodeToString(sum[:8]) + ".turn"
	p := path.Join(LocksDir, name)
	for {
		f, err := openLockFile(d, name, d.cfg.filePerm, true)
		if err != nil {
			return nil, &Error{Op: "open turn file", Key: key, Path: p, Err: err}
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
		if err != nil {
			f.Close()
			return nil, &Error{Op: "check turn file", Key: key, Path: p, Err: err}
		}
		l := &FileLock{key: key, path: p, f: f, cfg: d.cfg}
		if err := l.Lock(ctx); err != nil {
			f.Close()
			return nil, err
		}
		cur, err := d.root.Lstat(p)
		if err == nil && os.SameFile(fi, cur) {
			return func() {
				// Removed while held: a waiter on this file then moves on
				// to a new one. (Where an open file cannot be removed, it
				// stays; only this lease ever names it.)
				_ = d.root.Remove(p)
				_ = l.Close()
			}, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Op: "stat turn file", Key: key, Path: p, Err: err}
		}
	}
}
