package coordinator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sharedwrite/sharedwrite/internal/errno"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/writer"
)

// intentMagic starts every transaction intent file; the version follows it.
const intentMagic = "sharedwrite-tx 1\n"

// txIntent is a transaction's commit point: once its file is complete and
// fsynced in .sharedwrite/tx/<id>, the transaction is committed and whoever
// finds it (a later holder of one of its keys, Sweep) completes its renames.
// A torn or unreadable intent was never the commit point and is discarded.
//
// On disk: intentMagic, one line of JSON, one line with the hex sha256 of the
// JSON line.
type txIntent struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Entries []txEntry `json:"entries"`
}

// txEntry is one file of a transaction: its staged temp and its target, both
// relative to the root, and the version the rename makes visible.
type txEntry struct {
	Target  string `json:"target"`
	Temp    string `json:"temp"`
	Token   uint64 `json:"token"`
	LeaseID string `json:"lease_id"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

func newIntentID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 16) + "-" + randomHex(8)
}

// validIntentID refuses anything but the characters newIntentID produces: the id
// comes from a record on the volume and must never name a path elsewhere.
func validIntentID(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, "0123456789abcdef-") == ""
}

func intentPath(id string) string { return txDir + "/" + id }

// openTx opens txDir as a root of its own, for every use of the intents:
// .sharedwrite and .sharedwrite/tx must be directories, not symlinks (an
// os.Root follows a symlink that stays inside the root: one replacing
// either would have intents written into, and Sweep remove files from, a
// data directory). The directory opened is checked to be the one named
// there. A missing txDir is fs.ErrNotExist.
func openTx(r *os.Root) (*os.Root, error) {
	checkDirs := func() (fs.FileInfo, error) {
		var fi fs.FileInfo
		for _, d := range []string{metaDir, txDir} {
			var err error
			if fi, err = r.Lstat(d); err != nil {
				return nil, err
			}
			if !fi.IsDir() {
				return nil, &fs.PathError{Op: "open", Path: d, Err: fmt.Errorf("not a directory (mode %v): %w", fi.Mode(), syscall.ENOTDIR)}
			}
		}
		return fi, nil
	}
	if _, err := checkDirs(); err != nil {
		return nil, err
	}
	t, err := r.OpenRoot(txDir)
	if err != nil {
		return nil, err
	}
	opened, err := t.Stat(".")
	named, cerr := checkDirs()
	switch {
	case err != nil:
	case cerr != nil:
		err = cerr
	case !os.SameFile(opened, named):
		err = &fs.PathError{Op: "open", Path: txDir, Err: fmt.Errorf("replaced while it was opened: %w", syscall.ESTALE)}
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// intentEntries lists the intent files in txDir: regular files with an
// intent's name (none when the directory does not exist).
func intentEntries(r *os.Root) ([]fs.DirEntry, error) {
	t, err := openTx(r)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer t.Close()
	entries, err := fs.ReadDir(t.FS(), ".")
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool {
		return !e.Type().IsRegular() || !validIntentID(e.Name())
	}), err
}

func encodeIntent(in txIntent) ([]byte, error) {
	for _, e := range in.Entries {
		// JSON would replace the bytes of an invalid name: the intent would
		// name other files than the transaction's.
		if !utf8.ValidString(e.Target) || !utf8.ValidString(e.Temp) {
			return nil, fmt.Errorf("%w: entry %s -> %s: not valid UTF-8", writer.ErrInvalidName, quote.Name(e.Temp), quote.Name(e.Target))
		}
	}
	j, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(j)
	var b bytes.Buffer
	b.WriteString(intentMagic)
	b.Write(j)
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func decodeIntent(b []byte) (txIntent, error) {
	var in txIntent
	rest, ok := bytes.CutPrefix(b, []byte(intentMagic))
	if !ok {
		return in, fmt.Errorf("%w: bad header", ErrCorruptIntent)
	}
	j, tail, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return in, fmt.Errorf("%w: truncated", ErrCorruptIntent)
	}
	sum := sha256.Sum256(j)
	if string(bytes.TrimSuffix(tail, []byte{'\n'})) != hex.EncodeToString(sum[:]) || !bytes.HasSuffix(tail, []byte{'\n'}) {
		return in, fmt.Errorf("%w: checksum mismatch", ErrCorruptIntent)
	}
	if err := json.Unmarshal(j, &in); err != nil {
		return in, fmt.Errorf("%w: %w", ErrCorruptIntent, err)
	}
	if !validIntentID(in.ID) || len(in.Entries) == 0 {
		return in, fmt.Errorf("%w: malformed", ErrCorruptIntent)
	}
	return in, nil
}

// writeIntent is writeIntentWarn with no directory fsync refusal accepted:
// when it returns nil the intent file and its directory are fsynced.
func writeIntent(r *os.Root, in txIntent) error {
	return writeIntentWarn(r, in, nil, nil)
}

// writeIntentWarn is writeIntent that, when warn is set
// (AcceptUnconfirmedDurability), takes a directory fsync refused with
// EINVAL, ENOTSUP or EOPNOTSUPP (some FUSE and CIFS mounts never accept
// one) as a warning handed to warn, as the writer does for the renames
// that follow: the intent is kept and the transaction committed, its
// durability unconfirmed like theirs. Without it no transaction could
// commit on such a volume.
//
// ready, when set, is called once the intent is written and fsynced under its
// temp name, right before the rename that makes it the commit point: an
// error from it leaves no intent (the temp is removed) and is returned as it
// is. The fsync can take long (a network filesystem, a stalled server), and
// a lease may end meanwhile; on a volume whose file locks other hosts do not
// see, another host may then have taken a key and committed, having found no
// intent. The transaction checks its leases and floors again there, as a
// single-file commit does after its pending record's fsync.
func writeIntentWarn(r *os.Root, in txIntent, warn func(error), ready func() error) error {
	b, err := encodeIntent(in)
	if err != nil {
		return wrap("tx intent encode", intentPath(in.ID), err)
	}
	name := intentPath(in.ID)
	t, err := openTx(r)
	if err != nil {
		return wrap("tx intent create", name, err)
	}
	defer t.Close()
	// Written whole under a temp name and renamed into place: an intent is
	// never seen half-written, so Sweep, which discards an intent it cannot
	// read, never takes one being written for a torn one and removes the
	// commit point from under its transaction. (A temp it removes makes the
	// rename fail: the transaction is then not committed.)
	tmp := in.ID + intentTempSuffix
	f, err := t.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return wrap("tx intent create", name, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(intentPerm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && ready != nil {
		if err = ready(); err != nil {
			_ = t.Remove(tmp)
			return err
		}
	}
	if err == nil {
		err = t.Rename(tmp, in.ID)
	}
	if err != nil {
		_ = t.Remove(tmp)
		return wrap("tx intent write", name, err)
	}
	if err := syncDir(t, "."); err != nil {
		if warn != nil && errno.IsSyncRefusal(err) {
			warn(wrap("tx intent fsync directory", txDir, err))
			return nil
		}
		_ = t.Remove(in.ID)
		return wrap("tx intent write", name, err)
	}
	return nil
}

// intentPerm is an intent's mode, set past the umask: readable and writable
// by the volume's group (.sharedwrite is group-shared), as the lock files
// are, so that a replica running as another user of that group completes or
// discards a transaction whose process died.
const intentPerm = 0o660

// intentTempSuffix ends the name an intent is written under before it is
// renamed to its id (not a valid id: intentEntries skips it).
const intentTempSuffix = ".tmp"

// removeIntentTemps removes the temps of intents (see writeIntent) last
// modified olderThan ago or more, left by a process that died while writing
// one, and returns how many it removed.
func removeIntentTemps(r *os.Root, olderThan time.Duration) (int, error) {
	t, err := openTx(r)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap("tx intent temps", txDir, err)
	}
	defer t.Close()
	entries, err := fs.ReadDir(t.FS(), ".")
	if err != nil {
		return 0, wrap("tx intent temps", txDir, err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), intentTempSuffix)
		if !ok || !validIntentID(id) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < olderThan {
			continue
		}
		if err := t.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, wrap("tx intent temp remove", txDir+"/"+e.Name(), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// readIntent reads an intent: fs.ErrNotExist when it is gone (completed or
// discarded), ErrCorruptIntent when torn.
func readIntent(r *os.Root, id string) (txIntent, error) {
	if !validIntentID(id) {
		return txIntent{}, wrap("tx intent read", id, fmt.Errorf("%w: invalid id", ErrCorruptIntent))
	}
	name := intentPath(id)
	t, err := openTx(r)
	if err != nil {
		return txIntent{}, wrap("tx intent read", name, err)
	}
	defer t.Close()
	fi, err := t.Lstat(id)
	if err != nil {
		return txIntent{}, wrap("tx intent read", name, err)
	}
	if !fi.Mode().IsRegular() {
		return txIntent{}, wrap("tx intent read", name, fmt.Errorf("%w: not a regular file", ErrCorruptIntent))
	}
	b, err := t.ReadFile(id)
	if err != nil {
		return txIntent{}, wrap("tx intent read", name, err)
	}
	in, err := decodeIntent(b)
	if err == nil && in.ID != id {
		err = fmt.Errorf("%w: id %s in file %s", ErrCorruptIntent, in.ID, id)
	}
	if err != nil {
		return txIntent{}, wrap("tx intent read", name, err)
	}
	return in, nil
}

// checkStaged refuses an intent whose entries are not staged temps of their
// targets (a temp named as the writer names a temp of that target, in the
// target's directory or in tempDir, the configured temp directory) or whose
// targets lie under .sharedwrite/: completing it would rename arbitrary files
// over others (another file's temp, left by a crash or still being written,
// over a file of the same directory).
func checkStaged(in txIntent, tempDir string) error {
	for _, e := range in.Entries {
		ok := e.Target != "" && e.Temp != "" && !path.IsAbs(e.Target) && path.Clean(e.Target) == e.Target &&
			e.Target != metaDir && !strings.HasPrefix(e.Target, metaDir+"/") && !strings.HasPrefix(e.Target, "../") &&
			(path.Dir(e.Temp) == path.Dir(e.Target) || (tempDir != "" && path.Dir(e.Temp) == path.Clean(tempDir))) &&
			writer.IsTempOf(e.Temp, e.Target)
		if !ok {
			return fmt.Errorf("%w: entry %s -> %s is not a staged temp of its target", ErrCorruptIntent, quote.Name(e.Temp), quote.Name(e.Target))
		}
	}
	return nil
}

func removeIntent(r *os.Root, id string) error {
	if !validIntentID(id) {
		// Never a path: the id comes from a record on the volume.
		return wrap("tx intent remove", id, fmt.Errorf("%w: invalid id", ErrCorruptIntent))
	}
	name := intentPath(id)
	t, err := openTx(r)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wrap("tx intent remove", name, err)
	}
	defer t.Close()
	if err := t.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap("tx intent remove", name, err)
	}
	// A directory fsync the filesystem refuses (errno.IsSyncRefusal: some
	// FUSE and CIFS mounts refuse every one) is no failure here: the intent
	// is gone, and one that a crash brought back is completed again, which
	// skips the temps already renamed.
	if err := syncDir(t, "."); err != nil && !errno.IsSyncRefusal(err) {
		return wrap("tx intent remove", txDir, err)
	}
	return nil
}
