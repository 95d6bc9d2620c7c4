//go:build unix

package coordinator

import "os"

// syncDir fsyncs a directory so that a link or rename in it survives a crash.
func syncDir(r *os.Root, dir string) error {
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
