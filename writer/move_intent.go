package writer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/errno"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// moveIntent is the record a cross-device Move keeps beside its source.
type moveIntent struct {
	V       int    `json:"v"`
	Src     string `json:"src"`
	Root    string `json:"root"`
	Dst     string `json:"dst"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	SHA256  string `json:"sha256,omitempty"` // set once the copy is complete, when it was hashed
	CtimeNs int64  `json:"ctime_ns,omitempty"`
	// The copy (the temp that the commit renames onto dst) when it was not
	// hashed (see moveByCopy), set once it is complete: its inode and its
	// mtime (src's, to the nanosecond), which the rename keeps.
	CopyIno     uint64 `json:"copy_ino,omitempty"`
	CopyMtimeNs int64  `json:"copy_mtime_ns,omitempty"`
}

// copied reports whether the intent was updated once the copy was complete:
// the commit onto dst may have happened.
func (in moveIntent) copied() bool { return in.SHA256 != "" || in.CopyIno != 0 }

const moveIntentSuffix = ".sw-move.intent"

func newMoveIntent(absSrc, root, rel string, fi fs.FileInfo) moveIntent {
	dev, ino := fileID(fi)
	return moveIntent{V: 1, Src: absSrc, Root: root, Dst: rel, Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano(), Dev: dev, Ino: ino, CtimeNs: changeTime(fi)}
}

// moveIntentPath is the intent's path beside src.
func moveIntentPath(absSrc string) string {
	return filepath.Join(filepath.Dir(absSrc), hiddenStem(filepath.Base(absSrc), len(moveIntentSuffix)+len(".tmp"))+moveIntentSuffix)
}

// writeMoveIntent writes in atomically (temp, fsync, rename, directory
// fsync), so an intent on disk is never torn. Under
// AcceptUnconfirmedDurability a directory fsync refused with
// EINVAL/ENOTSUP/EOPNOTSUPP is passed over: an intent lost in a crash leaves
// src, and at worst a complete dst beside it, never neither; and the warning
// comes once, from the fsync of the same directory after src is unlinked
// (finishMove), the one that decides whether the move is durable. Any other
// failure is an error, with nothing moved.
func writeMoveIntent(cfg *config, absSrc string, in moveIntent) error {
	p := moveIntentPath(absSrc)
	data, err := json.Marshal(in)
	if err != nil {
		return newError("move: write intent", p, err)
	}
	tmp := p + ".tmp"
	// A leftover temp (a crash while writing an intent: empty, or the start
	// of one) is removed, and the new one created O_EXCL: opening an existing
	// name could write through a hard link planted there into a file
	// elsewhere. Anything else there is not ours to remove.
	old, err := readSmall(os.OpenFile(tmp, os.O_RDONLY|oNoFollow|oNonblock, 0))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err == nil && isIntentStart(old):
		if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return newError("move: remove stale intent temp", tmp, err)
		}
	default:
		return newError("move: write intent", tmp, notIntent(err))
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY|oNoFollow, 0o600)
	if err != nil {
		return newError("move: write intent", tmp, err)
	}
	if _, err = f.Write(append(data, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return newError("move: write intent", p, err)
	}
	err = syncDirPath(filepath.Dir(p))
	if err != nil && !(cfg.acceptDurable && errno.IsSyncRefusal(err)) {
		removeMoveIntent(absSrc)
		return newError("move: fsync intent directory", filepath.Dir(p), err)
	}
	return nil
}

// removeMoveIntent removes src's intent, which this package wrote (or read
// as one), and fsyncs the directory; failures leave an intent that the next
// Move of src settles.
func removeMoveIntent(absSrc string) {
	p := moveIntentPath(absSrc)
	if err := os.Remove(p); err == nil {
		_ = syncDirPath(filepath.Dir(p))
	}
}

// resumeMove settles an intent a crashed Move of absSrc left. done reports
// that the move is complete (nothing more to do).
func (r *Root) resumeMove(ctx context.Context, absSrc, rel string, cfg *config) (done bool, err error) {
	p := moveIntentPath(absSrc)
	data, err := readSmall(os.OpenFile(p, os.O_RDONLY|oNoFollow|oNonblock, 0))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil && !errors.Is(err, errNotSmallFile) {
		return false, newError("move: read intent", p, err)
	}
	start := time.Now()
	var in moveIntent
	if err != nil || json.Unmarshal(data, &in) != nil || in.V != 1 {
		// Not an intent (an intent is never torn: it is written under a
		// temp name and renamed): someone's file at its name, which is not
		// ours to remove, and where no intent can be written.
		return false, newError("move: read intent", p, notIntent(err))
	}
	if in.Src != absSrc || in.Root != r.dir || in.Dst != rel {
		// A move to another destination: moving src again can at worst
		// leave a second copy, never lose it.
		removeMoveIntent(absSrc)
		cfg.emit("move-discard-intent", rel, start, 0, nil)
		return false, nil
	}
	sfi, err := os.Lstat(absSrc)
	if errors.Is(err, fs.ErrNotExist) {
		// src was unlinked: by the interrupted move once dst held its copy,
		// or by someone else. dst tells which.
		removeMoveIntent(absSrc)
		if _, derr := r.root.Lstat(rel); derr != nil {
			cfg.emit("move-discard-intent", rel, start, 0, derr)
			return true, newError("move", absSrc, fmt.Errorf("source gone and destination %s missing after an interrupted move: %w", quote.Name(rel), bare(derr)))
		}
		dsum, dsize, derr := r.hashRel(rel)
		if derr != nil {
			return true, newError("move: hash destination", rel, derr)
		}
		if !in.copied() || !r.holdsCopy(rel, in, dsum, dsize) {
			cfg.emit("move-discard-intent", rel, start, 0, nil)
			return true, newError("move", absSrc, fmt.Errorf("source gone, but destination %s does not hold the copy of the interrupted move (the source was removed before the move committed; nothing moved): %w", quote.Name(rel), syscall.ENOENT))
		}
		cfg.emit("move-complete-intent", rel, start, dsize, nil)
		// The hook sees the move the interrupted call made (the coordinator
		// records it).
		return true, cfg.runPreCommit(ctx, Change{Op: "move", Name: rel, SHA256: dsum, Size: dsize})
	}
	if err != nil {
		return false, newError("move: stat source", absSrc, err)
	}
	if in.copied() && sfi.Mode().IsRegular() && sameAsIntent(sfi, in) {
		if dfi, err := r.root.Lstat(rel); err == nil && dfi.Mode().IsRegular() && dfi.Size() == sfi.Size() {
			ssum, ssize, serr := hashPath(absSrc)
			dsum, dsize, derr := r.hashRel(rel)
			if serr == nil && derr == nil && ssize == dsize && ssum == dsum && (in.SHA256 == "" || hex.EncodeToString(ssum[:]) == in.SHA256) {
				cfg.emit("move-complete-intent", rel, start, ssize, nil)
				// dst must be durable before src goes: the interrupted
				// call may have stopped (or been refused) at its directory
				// fsyncs, those of the parents it created included (which
				// ones it created is not known: every ancestor is synced).
				// Until it is, src and the intent stay.
				if err := r.syncDirs(cfg, rel, ancestors(rel)); err != nil {
					return true, err
				}
				// The hook sees the move the interrupted call made (the
				// coordinator records it), before src is removed.
				if err := cfg.runPreCommit(ctx, Change{Op: "move", Name: rel, SHA256: dsum, Size: dsize}); err != nil {
					return true, err
				}
				return true, finishMove(cfg, absSrc, sfi, nil)
			}
		}
	}
	removeMoveIntent(absSrc)
	cfg.emit("move-discard-intent", rel, start, 0, nil)
	if ctx.Err() != nil {
		return false, newError("move", absSrc, context.Cause(ctx))
	}
	return false, nil
}

// ancestors lists the directories above rel's own, innermost first, as
// syncDirs takes the directories a call created ("a/b/f" → "a/b", "a"): their
// parents are synced with rel's directory.
func ancestors(rel string) []string {
	var dirs []string
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	return dirs
}

// holdsCopy reports whether dst (rel; its sha256 and size dsum, dsize) is the
// copy the intent in recorded once complete: by its sha256 when the copy was
// hashed, otherwise by its inode and its mtime to the nanosecond (a file
// written since at a reused inode number has its own mtime), and by size
// either way. (The device is not compared: it can change with a remount.)
func (r *Root) holdsCopy(rel string, in moveIntent, dsum [32]byte, dsize int64) bool {
	if dsize != in.Size {
		return false
	}
	if in.SHA256 != "" {
		return hex.EncodeToString(dsum[:]) == in.SHA256
	}
	fi, err := r.root.Lstat(rel)
	if err != nil {
		return false
	}
	_, ino := fileID(fi)
	return ino == in.CopyIno && fi.ModTime().UnixNano() == in.CopyMtimeNs
}

// isIntentStart reports whether b can be what a crash left of an intent
// being written: nothing yet, or the start of its JSON.
func isIntentStart(b []byte) bool {
	const start = `{"v":1,"src":`
	n := min(len(b), len(start))
	return string(b[:n]) == start[:n]
}

// notIntent is the error for a file at a move intent's name (or its temp's)
// that this package did not write: readErr when it could not be read as a
// small regular file, else EEXIST.
func notIntent(readErr error) error {
	if readErr == nil || errors.Is(readErr, errNotSmallFile) {
		readErr = syscall.EEXIST
	}
	return fmt.Errorf("a file that is not a move intent is at the name a move of this source keeps its intent at; it is left, and nothing is moved (move it away): %w", readErr)
}

// isMoveIntentName reports whether base is named like a move intent or its
// temp: names the root refuses, as the temps', markers' and backups'.
func isMoveIntentName(base string) bool {
	return strings.HasPrefix(base, ".") && (strings.HasSuffix(base, moveIntentSuffix) || strings.HasSuffix(base, moveIntentSuffix+".tmp"))
}

// maxSmallFile bounds readSmall: an intent or a marker is a line of JSON.
const maxSmallFile = 64 << 10

// errNotSmallFile: what is at an intent's or a marker's name is not a file
// one could be (a symlink, a FIFO, a device, a file too large).
var errNotSmallFile = errors.New("not a small regular file")

// readSmall reads f, opened (with error err) with O_NOFOLLOW and
// O_NONBLOCK: no symlink followed, no FIFO blocking the open. Anything but a
// regular file of at most maxSmallFile bytes is errNotSmallFile, read no
// further.
func readSmall(f *os.File, err error) ([]byte, error) {
	if isErrno(err, syscall.ELOOP) {
		return nil, errNotSmallFile // a symlink
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxSmallFile {
		return nil, errNotSmallFile
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err == nil && len(data) > maxSmallFile {
		return nil, errNotSmallFile
	}
	return data, err
}

// sameAsIntent reports whether fi is still the source the intent describes.
func sameAsIntent(fi fs.FileInfo, in moveIntent) bool {
	dev, ino := fileID(fi)
	return fi.Size() == in.Size && fi.ModTime().UnixNano() == in.MtimeNs && dev == in.Dev && ino == in.Ino &&
		(in.CtimeNs == 0 || changeTime(fi) == in.CtimeNs)
}
