package writer

import (
	"io/fs"
	"time"
)

// finalMode returns the mode the committed file gets: the forced Mode, else
// the mode of the file it replaces (old), else perm minus the umask, as
// os.WriteFile gives a new file.
func finalMode(cfg *config, perm fs.FileMode, old fs.FileInfo) fs.FileMode {
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	switch {
	case cfg.forceMode:
		return cfg.mode & bits
	case old != nil:
		return old.Mode() & bits
	}
	return perm & bits &^ fs.FileMode(umask())
}

// finishTemp gives the open temp t its final owner (that of old, where
// permitted), mode (finalMode) and, with KeepMtime, old's times; then fsyncs
// and closes it (checking close's error). Owner and mode are set through the
// descriptor before the fsync, so they are durable with the data. After it
// the temp is ready for commitTemp; on error the caller discards it.
func (r *Root) finishTemp(cfg *config, t *tempFile, perm fs.FileMode, old fs.FileInfo) error {
	if err := setOwnerMode(t, finalMode(cfg, perm, old), old); err != nil {
		return err
	}
	var mtime, atime time.Time
	if cfg.keepMtime && old != nil {
		mtime = old.ModTime()
		atime = accessTime(old)
		if err := setTimesFd(t, atime, mtime); err != nil {
			return err
		}
	}
	if err := t.closeFile(cfg, true); err != nil {
		return err
	}
	if cfg.keepMtime && old != nil {
		return setTimesName(r, t, atime, mtime)
	}
	return nil
}
