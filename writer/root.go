package writer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// maxSymlinks bounds the symlinks followed while resolving one name, as the
// kernel's MAXSYMLINKS (40) does.
const maxSymlinks = 40

// Root is a directory under which every operation stays: names are resolved
// against it with os.Root, so no "..", absolute name or symlink can make an
// operation reach outside it (the one exception is the source of Move, which
// the caller names explicitly). A Root is safe for concurrent use.
type Root struct {
	root *os.Root
	dir  string
	// nameMax is the longest name component the root's filesystem takes: a
	// longer one under a missing directory is refused by Resolve, before
	// anything is locked or recorded for a name that can never exist.
	nameMax int

	// top is the root directory, opened on its first fsync and kept: a
	// commit at the top of the root fsyncs it without an open and a close.
	top atomic.Pointer[os.File]

	// files counts the Files created and not yet committed or aborted:
	// Close leaves the directory handles open for them (closing), and the
	// last one to end closes them.
	mu      sync.Mutex
	files   int
	closing bool
}

// Open opens dir, which must exist and be a directory, as a Root.
func Open(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, newError("open root", dir, err)
	}
	abs = filepath.Clean(abs)
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, newError("open root", abs, err)
	}
	if !fi.IsDir() {
		return nil, newError("open root", abs, syscall.ENOTDIR)
	}
	or, err := os.OpenRoot(abs)
	if err != nil {
		return nil, newError("open root", abs, err)
	}
	return &Root{root: or, dir: abs, nameMax: fsNameMax(abs)}, nil
}

// Close closes the root's directory handle. Files created through it and not
// yet committed stay usable until they are committed or aborted: the handle
// is closed when the last of them ends. Create fails after Close.
func (r *Root) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return nil
	}
	r.closing = true
	if r.files > 0 {
		return nil
	}
	return r.closeHandles()
}

func (r *Root) closeHandles() error {
	if d := r.top.Swap(nil); d != nil {
		d.Close()
	}
	return r.root.Close()
}

// addFile counts a File being created: false once Close was called.
func (r *Root) addFile() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.files++
	return true
}

// fileDone counts a File committed or aborted, closing the handles when it
// was the last one Close waited for.
func (r *Root) fileDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files--; r.files == 0 && r.closing {
		_ = r.closeHandles()
	}
}

// Dir returns the root's directory: absolute and cleaned.
func (r *Root) Dir() string { return r.dir }

// OS returns the underlying os.Root.
func (r *Root) OS() *os.Root { return r.root }

// Resolve returns the canonical root-relative path of name ("/"-separated,
// symlinks inside the root resolved, "." components removed), which is the
// key one file has whichever of its names is used. The final component need
// not exist; then only its parent is resolved (missing directories are kept
// as named). Errors (as *Error, Op "resolve"):
//   - ErrInvalidName: empty, the root itself, or a NUL in the name;
//   - ErrOutsideRoot: an absolute name, a ".." component, a symlink that is
//     absolute or leaves the root, or a symlink (final or not) that dangles;
//   - an errno such as ENOTDIR, ELOOP, EACCES when the walk fails.
//
// Resolve only names the file; the operations that follow still go through
// os.Root, so a symlink swapped in after Resolve cannot lead them outside.
func (r *Root) Resolve(name string) (string, error) {
	rel, _, err := r.resolve(name)
	return rel, err
}

// resolve is Resolve that also returns the Lstat of the final component (nil
// when it does not exist).
func (r *Root) resolve(name string) (string, fs.FileInfo, error) {
	fail := func(err error) (string, fs.FileInfo, error) {
		return "", nil, newError("resolve", name, err)
	}
	if name == "" {
		return fail(withCause(ErrInvalidName, errors.New("empty name")))
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fail(withCause(ErrInvalidName, errors.New("NUL in name")))
	}
	if isAbs(name) {
		return fail(withCause(ErrOutsideRoot, errors.New("absolute name")))
	}
	pending := splitName(name)
	for _, c := range pending {
		if c == ".." {
			return fail(withCause(ErrOutsideRoot, errors.New(`".." in name`)))
		}
	}
	if len(pending) == 0 {
		return fail(withCause(ErrInvalidName, errors.New("names the root itself")))
	}

	var (
		done     []string    // resolved components
		fi       fs.FileInfo // Lstat of the last resolved component; nil if missing
		missing  bool        // a component did not exist: the rest is kept as named
		links    int
		linkLeft int // how many of pending come from symlink targets: those must exist
	)
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		inLink := linkLeft > 0
		if inLink {
			linkLeft--
		}
		switch {
		case c == "..":
			if missing {
				return fail(syscall.ENOENT)
			}
			if len(done) == 0 {
				return fail(withCause(ErrOutsideRoot, errors.New("symlink target leaves the root")))
			}
			done = done[:len(done)-1]
			// The directory now last was resolved on the way here: it
			// exists (a directory), and a name ending here names it.
			fi = nil
			if len(done) > 0 {
				info, err := r.root.Lstat(strings.Join(done, "/"))
				if err != nil {
					return fail(err)
				}
				fi = info
			}
			continue
		case c == "." || c == "":
			continue
		}
		done = append(done, c)
		if missing {
			// Not looked up (its parent is missing), so not refused by the
			// kernel now, but by the mkdir or create to come.
			if len(c) > r.nameMax {
				return fail(fmt.Errorf("component of %d bytes, over the filesystem's %d: %w", len(c), r.nameMax, syscall.ENAMETOOLONG))
			}
			continue
		}
		cur := strings.Join(done, "/")
		info, err := r.root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if inLink {
				return fail(withCause(ErrOutsideRoot, fmt.Errorf("dangling symlink: %s does not exist", quote.Name(cur))))
			}
			missing, fi = true, nil
			continue
		case err != nil:
			return fail(err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return fail(syscall.ELOOP)
			}
			target, err := r.root.Readlink(cur)
			if err != nil {
				return fail(err)
			}
			if isAbs(target) {
				return fail(withCause(ErrOutsideRoot, fmt.Errorf("absolute symlink %s -> %s", quote.Name(cur), quote.Name(target))))
			}
			done = done[:len(done)-1]
			t := splitName(target)
			pending = append(t, pending...)
			linkLeft += len(t)
			continue
		}
		if len(pending) > 0 && !info.IsDir() {
			return fail(syscall.ENOTDIR)
		}
		fi = info
	}
	if len(done) == 0 {
		return fail(withCause(ErrInvalidName, errors.New("names the root itself")))
	}
	return strings.Join(done, "/"), fi, nil
}

// target resolves name as the target of a file write: the final component, if
// it exists, must be a regular file (ErrNotRegular otherwise). It returns the
// canonical name and the target's Lstat (nil when it does not exist).
func (r *Root) target(name string) (string, fs.FileInfo, error) {
	rel, fi, err := r.resolve(name)
	if err != nil {
		return "", nil, err
	}
	if base := path.Base(rel); isReservedName(base) {
		return "", nil, newError("resolve", rel, withCause(ErrInvalidName, errors.New("the name is one of sharedwrite's own temp, backup, marker or move intent names, which Sweep or Move remove")))
	}
	if err := DirNameError(name); fi == nil && err != nil {
		return "", nil, newError("resolve", name, err)
	}
	if fi != nil && !fi.Mode().IsRegular() {
		return "", nil, newError("resolve", rel, NotRegularError(fi.Mode()))
	}
	return rel, fi, nil
}

// isReservedName reports whether base is a name this package gives its own
// files (temps, in-place markers and backups, move intents and their temps):
// Sweep and Move tell them by name, so a file of such a name must never be a
// target.
func isReservedName(base string) bool {
	_, temp := parseTempName(base)
	return temp || isInPlaceMarker(base) || isInPlaceBackup(base) || isMoveIntentName(base)
}

// DirNameError is ErrNotRegular (and EISDIR) for a name that can only name
// a directory: it ends in a separator, or in "." or ".." as its last element
// ("d/", "d/.", "d/.."); nil for any other name.
func DirNameError(name string) error {
	end := dirEnding(name)
	if end == "" {
		return nil
	}
	return withCause(ErrNotRegular, fmt.Errorf("the name ends in %q: it names a directory: %w", end, syscall.EISDIR))
}

// dirEnding is what makes name one that can only name a directory (see
// DirNameError): "/", "." or "..", or "" when it is not such a name.
func dirEnding(name string) string {
	if name == "" {
		return ""
	}
	if strings.HasSuffix(name, "/") || strings.HasSuffix(name, string(filepath.Separator)) {
		return name[len(name)-1:]
	}
	switch base := name[strings.LastIndexAny(name, "/"+string(filepath.Separator))+1:]; base {
	case ".", "..":
		return base
	}
	return ""
}

// NotRegularError is ErrNotRegular for a file of mode m, naming its type
// ("not a regular file: it is a FIFO"); for a directory it wraps EISDIR ("not
// a regular file: it is a directory (EISDIR)").
func NotRegularError(m fs.FileMode) error {
	if m.IsDir() {
		return withCause(ErrNotRegular, isDirError{})
	}
	return withCause(ErrNotRegular, fmt.Errorf("it is a %s", kind(m)))
}

// isDirError says a name is a directory, naming the errno (EISDIR), and is it.
type isDirError struct{}

func (isDirError) Error() string        { return "it is a directory (EISDIR)" }
func (isDirError) Is(target error) bool { return target == syscall.EISDIR }

// kind names a file type for error messages.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "non-regular file"
}

// splitName splits a name on "/" (and on the OS separator).
func splitName(name string) []string {
	if os.PathSeparator != '/' {
		name = strings.ReplaceAll(name, string(os.PathSeparator), "/")
	}
	return strings.Split(name, "/")
}

// isAbs reports an absolute name in either the slash or the OS form.
func isAbs(name string) bool {
	return strings.HasPrefix(name, "/") || filepath.IsAbs(name) || filepath.VolumeName(name) != ""
}

// dirOf returns the root-relative directory of a canonical name ("." for a
// name at the top of the root).
func dirOf(rel string) string { return path.Dir(rel) }
