//go:build !unix

package coordinator

import "io/fs"

// fileGID: no owning group outside Unix.
func fileGID(fs.FileInfo) (int, bool) { return 0, false }
