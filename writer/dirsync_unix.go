//go:build unix

package writer

import "os"

// syncDir fsyncs the root-relative directory dir, opened through the root;
// the root itself through the descriptor r.top keeps.
func (r *Root) syncDir(dir string) error {
	if dir == "." {
		d, err := r.topDir()
		if err != nil {
			return err
		}
		return d.Sync()
	}
	d, err := r.root.OpenFile(dir, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// topDir returns the root directory's descriptor, opening it on first use.
func (r *Root) topDir() (*os.File, error) {
	if d := r.top.Load(); d != nil {
		return d, nil
	}
	d, err := r.root.OpenFile(".", os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	if !r.top.CompareAndSwap(nil, d) {
		d.Close()
		return r.topDir()
	}
	return d, nil
}

// syncOpened fsyncs f, a file opened read-only (reopen is for Windows,
// whose flush needs write access).
func syncOpened(f *os.File, _ func() (*os.File, error)) error { return f.Sync() }
