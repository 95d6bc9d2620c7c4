//go:build unix

package writer

import "os"

// syncDir fsyncs the root-relative directory dir, opened through the root.
func (r *Root) syncDir(dir string) error {
	d, err := r.root.OpenFile(dir, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return err
	}
	err = fsyncFile(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
