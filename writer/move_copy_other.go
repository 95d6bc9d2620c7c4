//go:build !linux

package writer

import (
	"context"
	"os"
)

// copyRange is Linux-only (copy_file_range); elsewhere Move copies through a
// buffer.
func copyRange(context.Context, *Root, *tempFile, *os.File) error { return errNoCopyRange }
