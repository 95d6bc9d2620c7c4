//go:build !unix

package writer

import (
	"context"
	"os"
)

// lockFileWait is a no-op where the package does not flock (see doc.go).
func lockFileWait(ctx context.Context, f *os.File) (tempLock, error) { return tempLock{}, nil }

// oNoFollow: os.Root already refuses symlinks leaving the root on Windows.
const oNoFollow = 0
