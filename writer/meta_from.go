package writer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// CopyMetaFrom makes Commit give the new file the owner, mode and, on
// Linux, the extended attributes of src, an open regular file, in place of
// those that perm, Mode or the file it replaces would give it: for a copy of
// src that must grant no more access than src does (a rotated copy of a live
// log, or its compressed copy). On Linux the attributes include src's access
// ACL, whose mask is the mode's group bits: without it the copy's owning
// group would get the access that src's named users have. File capabilities
// are not copied: they were granted to src's content. An owner this process
// may not give, and an attribute the file's filesystem cannot hold, are
// passed over as for a replaced file.
//
// They are taken from src as it is at Commit and set on the temp, fsynced,
// before any PreCommit hook runs; until then the temp is 0600. A failure is
// Commit's, which then commits nothing. Call it once, before Commit.
func (f *File) CopyMetaFrom(src *os.File) {
	f.cfg.mode, f.cfg.forceMode = 0o600, true
	copyMeta := func(context.Context, Change) error { return f.copyMeta(src) }
	f.cfg.preCommit = append([]func(context.Context, Change) error{copyMeta}, f.cfg.preCommit...)
}

// copyMeta gives the closed temp f.t the owner, mode and extended
// attributes of src (CopyMetaFrom), through a descriptor of its own that it
// fsyncs. The temp is opened for writing (it is 0600, and Windows flushes
// only such a descriptor) and must be the file Commit closed: the name is
// checked to lead to it still.
func (f *File) copyMeta(src *os.File) error {
	fi, err := src.Stat()
	if err != nil {
		return newError("fstat", src.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		return newError("copy metadata from", src.Name(), NotRegularError(fi.Mode()))
	}
	t := f.t
	tf, err := f.r.root.OpenFile(t.Name, os.O_RDWR|oNoFollow|oNonblock, 0)
	if err != nil {
		return newError("open temp", t.Name, err)
	}
	defer tf.Close()
	cur, err := tf.Stat()
	if err != nil {
		return newError("fstat", t.Name, err)
	}
	if t.info != nil && !os.SameFile(cur, t.info) {
		return newError("open temp", t.Name, fmt.Errorf("another file is at the temp's name: %w", syscall.ESTALE))
	}
	// copied: src's attributes replace those Commit copied from the target.
	reopened := &tempFile{r: f.r, File: tf, Name: t.Name, Target: t.Target, copied: t.copied}
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if err := setOwnerMode(reopened, fi.Mode()&bits, fi); err != nil {
		return err
	}
	// After the chown and the chmod: setting an access ACL sets the mode's
	// group bits to its mask.
	if err := copyXattrs(src, reopened, true, false); err != nil {
		return err
	}
	if err := tf.Sync(); err != nil {
		return newError("fsync", t.Name, err)
	}
	return nil
}
