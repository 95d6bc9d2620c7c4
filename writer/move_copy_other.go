//go:build !linux

package writer

import (
	"context"
	"os"
)

// copyRange is Linux-only (copy_file_range); elsewhere Move copies through a
// buffer.
func copyRange(context.Context, *Root, *tempFile, *os.File, bool) error { return errNoCopyRange }

// writeBehind is Linux-only (sync_file_range); elsewhere the fsync before
// commit writes the whole temp.
type writeBehind struct {
	f    *os.File
	name string
}

func (*writeBehind) wrote(int64) error { return nil }

func adviseSequential(*os.File) {}

// dropBehind is Linux-only (cachestat, fadvise).
type dropBehind struct{}

func newDropBehind(*os.File) *dropBehind { return &dropBehind{} }

func (*dropBehind) read(int64) {}
