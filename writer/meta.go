package writer

import (
	"io/fs"
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
	if err := r.setMeta(cfg, t, perm, old); err != nil {
		return err
	}
	return r.closeTemp(cfg, t, old, true)
}

// closeTemp closes the temp t (fsyncing it first when sync is set) and, with
// KeepMtime, gives it old's times where that is done by name (Windows).
func (r *Root) closeTemp(cfg *config, t *tempFile, old fs.FileInfo, sync bool) error {
	if err := t.closeFile(cfg, sync); err != nil {
		return err
	}
	if cfg.keepMtime && old != nil {
		return setTimesName(r, t, accessTime(old), old.ModTime())
	}
	return nil
}

// setMeta gives the open temp t the owner and mode finishTemp describes, the
// extended attributes of the file it replaces, its access ACL above all (on
// Linux; see openReplaced and copyXattrs), and, with KeepMtime, old's times
// (through the descriptor). The attributes are set after the chown and the
// chmod: setting an access ACL sets the mode's group bits to its mask. When
// there is no file to copy them from, the temp's are its own, as before a
// Sync copied any (restoreXattrs), set back before the chmod for that reason.
func (r *Root) setMeta(cfg *config, t *tempFile, perm fs.FileMode, old fs.FileInfo) error {
	src, old, err := r.openReplaced(t, old)
	if err != nil {
		return err
	}
	if src != nil {
		defer src.Close()
	} else if err := restoreXattrs(t); err != nil {
		// None to copy from: the temp keeps none of the attributes a Sync
		// copied from a file it no longer replaces, or one it may not open.
		return err
	}
	if err := r.setOwnerModeTimes(cfg, t, perm, old); err != nil {
		return err
	}
	if src == nil {
		return nil
	}
	return copyXattrs(src, t, !cfg.forceMode, false)
}

// setOwnerModeTimes gives the open temp t the owner and mode finishTemp
// describes and, with KeepMtime, old's times (through the descriptor).
func (r *Root) setOwnerModeTimes(cfg *config, t *tempFile, perm fs.FileMode, old fs.FileInfo) error {
	if err := setOwnerMode(t, finalMode(cfg, perm, old), old); err != nil {
		return err
	}
	if cfg.keepMtime && old != nil {
		return setTimesFd(t, accessTime(old), old.ModTime())
	}
	return nil
}

// sameMeta reports whether a temp given the metadata for target info a (nil:
// absent) has the right metadata for target info b: same existence, mode,
// owner and, with KeepMtime, times; and, where the system tells files apart,
// the same file with the same ctime, so the same extended attributes and ACL
// (setting either changes the ctime, and an ACL need not change the mode).
func sameMeta(cfg *config, a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.Mode() != b.Mode() || !sameOwner(a, b) {
		return false
	}
	ad, ai := fileID(a)
	bd, bi := fileID(b)
	if ad != bd || ai != bi || changeTime(a) != changeTime(b) {
		return false
	}
	return !cfg.keepMtime || (a.ModTime().Equal(b.ModTime()) && accessTime(a).Equal(accessTime(b)))
}
