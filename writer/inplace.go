package writer

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
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// In-place rewrite of a busy target.
//
// A file bind-mounted onto a name (docker -v file:file, a Kubernetes subPath)
// cannot be replaced by rename(2): the kernel answers EBUSY. With
// InPlaceIfBusy the new content is written into the target itself, guarded
// by two hidden files in the target's directory:
//
//	.<name>.sw-inplace.bak     a copy of the old content (0600)
//	.<name>.sw-inplace.intent  the intent marker: the target's base name,
//	                           device and inode, the size and sha256 of the old
//	                           and the new content, and a checksum of the lines
//	                           before it
//
// (<name> shortened with a hash suffix when the result would exceed 255 bytes).
// The steps: copy the target into the backup and fsync it; write and fsync the
// marker; fsync the directory; run the PreCommit hook (Op "inplace"); write
// the new content from offset 0, truncate to its length (never truncate
// first, so the file is never shorter than both versions), fsync; remove the
// marker, fsync the directory, remove the backup. The writer holds a flock on
// the backup throughout.
//
// While a marker exists the target may hold a mix of old and new bytes. Every
// later operation on the name (see restoreInPlace) and Sweep settle it first:
// a target that already holds the whole new content (by size and sha256) is
// kept, one holding the old content is kept, anything else is rewritten from
// the backup (after checking the backup against the marker's sha256). A marker
// whose checksum fails was torn while being written, before the target was
// touched: it is discarded with its backup. The marker records the target's
// device and inode: when the name leads to another file (the bind mount is
// gone and the name shows the file beneath it) or to none, the marker is left
// alone until its file is back, and an in-place rewrite of the name is refused
// meanwhile (it would need the marker's names). The inode decides, not the
// device alone: NFS, FUSE, sshfs, overlay and tmpfs get an anonymous device
// number at each mount, so after a remount the same file has another st_dev.
// A file with the marker's inode on another device is settled by its content:
// kept when it is the old or the new version, restored from the backup when
// it could be a torn rewrite (its size lies between the two versions' and it
// was not modified before the marker was written), and otherwise taken for
// another file whose inode number matches by chance, and left alone.
//
// Rewrites of one target must be serialised by the caller (the
// coordinator's lease does); a second rewrite that starts while one is live
// fails with EEXIST on the backup, and an operation that settles the target
// waits for the live one (its flock on the backup) before it looks.
//
// This is NOT atomic for readers: a reader that opens the target during the
// rewrite can see part old and part new content, or a file of the wrong
// length. Only crash recovery is whole: after a crash and any later
// operation, the target holds the complete old or the complete new content.
const (
	inPlaceMarkerSuffix = ".sw-inplace.intent"
	inPlaceBackupSuffix = ".sw-inplace.bak"
	inPlaceMagic        = "sharedwrite-inplace 1"
)

// inPlaceStem returns the hidden stem ".<base>" that the marker and backup
// names of target base share, shortened to fit 255 bytes.
func inPlaceStem(base string) string { return hiddenStem(base, len(inPlaceMarkerSuffix)) }

// hiddenStem returns ".<base>", shortened (keeping a hash of base as a
// suffix) so that reserve more bytes still fit in a 255-byte name.
func hiddenStem(base string, reserve int) string {
	room := nameMax - 1 - reserve
	if len(base) > room {
		sum := sha256.Sum256([]byte(base))
		suffix := "~" + hex.EncodeToString(sum[:4])
		keep := room - len(suffix)
		for keep > 0 && !utf8.RuneStart(base[keep]) {
			keep--
		}
		base = base[:keep] + suffix
	}
	return "." + base
}

// inPlaceNames returns the root-relative marker and backup names of target rel.
func inPlaceNames(rel string) (marker, backup string) {
	dir, stem := dirOf(rel), inPlaceStem(path.Base(rel))
	return path.Join(dir, stem+inPlaceMarkerSuffix), path.Join(dir, stem+inPlaceBackupSuffix)
}

// isInPlaceMarker and isInPlaceBackup recognise the hidden names by their suffix.
func isInPlaceMarker(base string) bool {
	return strings.HasPrefix(base, ".") && strings.HasSuffix(base, inPlaceMarkerSuffix)
}
func isInPlaceBackup(base string) bool {
	return strings.HasPrefix(base, ".") && strings.HasSuffix(base, inPlaceBackupSuffix)
}

// markerOfBackup returns the marker base name that goes with a backup base name.
func markerOfBackup(base string) string {
	return strings.TrimSuffix(base, inPlaceBackupSuffix) + inPlaceMarkerSuffix
}

// rewriteInPlace writes the content of the temp tempRel (sha256 sum, size
// bytes, a regular file inside the root) into the busy target rel in place,
// as described above, and reports commitTemp's outcomes: committed=false with
// an error when the target holds its old content (an error during the
// in-place write is undone from the backup before returning; if even that
// fails the marker stays, and the next operation on the name restores it);
// committed=true once the new content is written and fsynced. It leaves the
// temp alone (the caller removes it). The target keeps its inode, so its
// owner and mode (unless Mode is given); KeepMtime applies.
//
// While the name's marker belongs to another file (see inPlaceForeign) it
// refuses, with nothing changed: an error naming the marker that wraps
// fs.ErrExist.
func (r *Root) rewriteInPlace(ctx context.Context, rel, tempRel string, sum [32]byte, size int64, cfg *config) (committed bool, err error) {
	markerRel, backupRel := inPlaceNames(rel)
	out, err := r.settleInPlace(ctx, rel, cfg)
	if err != nil {
		return false, err
	}
	if out == inPlaceForeign {
		return false, newError("in-place rewrite", markerRel, fmt.Errorf(
			"the marker of an unfinished in-place rewrite of another file is kept until that file is back at %s (remove the marker and its backup if it will not come back); nothing changed: %w",
			quote.Name(rel), syscall.EEXIST))
	}
	src, err := r.root.OpenFile(tempRel, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return false, newError("in-place open temp", tempRel, err)
	}
	defer src.Close()
	dst, err := r.root.OpenFile(rel, os.O_RDWR|oNoFollow, 0)
	if err != nil {
		return false, newError("in-place open", rel, err)
	}
	defer dst.Close()
	dfi, err := dst.Stat()
	if err != nil {
		return false, newError("in-place fstat", rel, err)
	}
	if !dfi.Mode().IsRegular() {
		return false, newError("in-place open", rel, NotRegularError(dfi.Mode()))
	}

	// 1. The backup, flocked for the whole rewrite so that a concurrent
	// settle waits for us instead of "restoring" a rewrite in progress.
	bak, err := r.root.OpenFile(backupRel, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// A backup without a marker: a rewrite that crashed before writing
		// its marker or after removing it. The target is whole either way;
		// drop the backup unless its writer is still alive. A backup whose
		// marker exists (written meanwhile) is that marker's, and stays.
		if _, merr := r.root.Lstat(markerRel); errors.Is(merr, fs.ErrNotExist) {
			_, _, _ = r.removeUnlocked(backupRel)
		}
		bak, err = r.root.OpenFile(backupRel, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	}
	if err != nil {
		return false, newError("in-place backup", backupRel, err)
	}
	lk, err := lockTemp(bak)
	if err != nil {
		_ = bak.Close()
		_ = r.root.Remove(backupRel)
		return false, newError("in-place lock backup", backupRel, err)
	}
	// Between the create and the flock a Sweep may have taken the backup
	// for an orphan and removed it: the rewrite would then have none.
	if named, nerr := r.tempStillNamed(bak, backupRel); !named {
		lk.unlock()
		_ = bak.Close()
		if nerr == nil {
			nerr = errors.New("removed as soon as created (by a concurrent sweep?); nothing changed, try again")
		}
		return false, newError("in-place backup", backupRel, nerr)
	}
	defer lk.unlock()
	defer bak.Close()
	// undo removes the backup this call created, and the marker only once
	// this call has written it: a marker found there belongs to another
	// rewrite.
	markerWritten := false
	undo := func(err error) (bool, error) {
		if markerWritten {
			_ = r.root.Remove(markerRel)
		}
		_ = r.root.Remove(backupRel)
		return false, err
	}
	start := time.Now()
	oldSum, oldSize, err := copyHashing(bak, io.NewSectionReader(dst, 0, 1<<62))
	if err == nil {
		err = bak.Sync()
	}
	cfg.emit("fsync", backupRel, start, oldSize, err)
	if err != nil {
		return undo(newError("in-place backup", backupRel, err))
	}

	// 2. The marker. Only once it is durable may the target be touched.
	dev, ino := fileID(dfi)
	in := inPlaceIntent{Target: path.Base(rel), Dev: dev, Ino: ino, OldSize: oldSize, OldSum: oldSum, NewSize: size, NewSum: sum}
	if err := r.writeSynced(markerRel, in.encode()); err != nil {
		return undo(err)
	}
	markerWritten = true
	if err := r.syncDirsBefore(cfg, markerRel); err != nil {
		return undo(err)
	}

	// 3. The hook, then the visible change.
	if err := cfg.runPreCommit(ctx, Change{Op: "inplace", Name: rel, Temp: tempRel, SHA256: sum, Size: size}); err != nil {
		return undo(err)
	}
	start = time.Now()
	gotSum, n, err := copyHashing(io.NewOffsetWriter(dst, 0), src)
	if err == nil && (n != size || gotSum != sum) {
		err = fmt.Errorf("temp changed: read %d bytes sha256 %x; want %d bytes %x", n, gotSum, size, sum)
	}
	if err == nil {
		err = dst.Truncate(size)
	}
	if err == nil && cfg.forceMode {
		err = dst.Chmod(cfg.mode)
	}
	if err == nil {
		err = dst.Sync()
	}
	cfg.emit("write", rel, start, n, err)
	if err != nil {
		werr := newError("in-place write", rel, err)
		if _, rerr := r.settleLocked(ctx, markerRel, backupRel, rel, cfg, true); rerr != nil {
			return false, joinLine(werr, rerr)
		}
		return false, werr
	}
	if cfg.keepMtime {
		_ = r.root.Chtimes(rel, accessTime(dfi), dfi.ModTime())
	}

	// 4. Done. The marker goes first: a crash after this leaves at most a
	// backup without a marker, which is never restored. The new content is
	// already durable; a marker that survives a crash only makes the next
	// operation find the target complete.
	start = time.Now()
	if err := r.root.Remove(markerRel); err != nil {
		// Committed all the same: the next operation on the name (or Sweep)
		// finds the whole new content and removes marker and backup. An
		// error here would tell the caller that nothing changed.
		cfg.emit("inplace-cleanup", markerRel, start, 0, newError("in-place remove marker", markerRel, err))
		return true, nil
	}
	_ = r.syncDir(dirOf(markerRel))
	_ = r.root.Remove(backupRel)
	return true, nil
}

func init() {
	busyRewrite = func(ctx context.Context, r *Root, cfg *config, t *tempFile, ch Change) (bool, error) {
		sum, size := t.sum()
		return r.rewriteInPlace(ctx, t.Target, t.Name, sum, size, cfg)
	}
	recoverTarget = func(ctx context.Context, r *Root, cfg *config, target string) error {
		_, err := r.settleInPlace(ctx, target, cfg)
		return err
	}
}

// writeSynced creates rel (O_EXCL, 0600) holding data and fsyncs it.
func (r *Root) writeSynced(rel string, data []byte) error {
	f, err := r.root.OpenFile(rel, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return newError("create", rel, err)
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = r.root.Remove(rel)
		return newError("write", rel, err)
	}
	return nil
}

// copyHashing copies src to dst with the 1 MiB copy buffer and returns the sha256 and
// length of what it copied.
func copyHashing(dst io.Writer, src io.Reader) (sum [32]byte, n int64, err error) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err = io.CopyBuffer(io.MultiWriter(dst, h), onlyReader{src}, *bp)
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}

// onlyReader hides ReaderFrom/WriterTo so CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }
