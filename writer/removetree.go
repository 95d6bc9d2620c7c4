package writer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// removeTree removes the directory p (root-relative) and all it holds, like
// os.Root.RemoveAll, but never inside a mount point: p, or a directory in it,
// on another mount than p's parent (a bind mount of a directory from
// anywhere, made there after it was published) is left, with its mount, and
// the tree's directories above it with it; the error says so (EBUSY). RemoveAll empties a mounted
// directory before its rmdir fails, deleting files outside the root. p absent
// is not an error.
func (r *Root) removeTree(p string) error {
	// p must be on its parent's mount: p itself may be a mount point.
	f, err := r.root.OpenFile(path.Dir(p), os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return err
	}
	id, err := mountOf(f)
	f.Close()
	if err != nil {
		return err
	}
	return r.removeTreeOn(p, id)
}

// removeTreeOn is removeTree for a directory p that must be on mount id.
func (r *Root) removeTreeOn(p string, id mountID) error {
	f, err := r.root.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cur, err := mountOf(f)
	if err == nil && cur != id {
		err = fmt.Errorf("%s is a mount point: not entered, left in place: %w", quote.Name(p), syscall.EBUSY)
	}
	var names []string
	if err == nil {
		names, err = f.Readdirnames(-1)
	}
	f.Close()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		c := path.Join(p, n)
		fi, err := r.root.Lstat(c)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		case fi.IsDir():
			if err := r.removeTreeOn(c, id); err != nil {
				errs = append(errs, err)
			}
		default:
			// A file bind-mounted onto a name here is refused (EBUSY):
			// unlink never reaches the mounted file.
			if err := r.root.Remove(c); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
