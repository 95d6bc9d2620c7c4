//go:build !linux

package writer

import "os"

// mountID tells mounts apart by device here (no bind mounts to tell apart
// from their filesystem; none at all on Windows, where fileID is 0).
type mountID struct{ dev uint64 }

// mountOf returns the device of the open file f.
func mountOf(f *os.File) (mountID, error) {
	fi, err := f.Stat()
	if err != nil {
		return mountID{}, err
	}
	dev, _ := fileID(fi)
	return mountID{dev: dev}, nil
}
