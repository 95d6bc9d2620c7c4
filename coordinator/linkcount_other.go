//go:build !unix

package coordinator

import "io/fs"

// linkCount reports no link count: this system's FileInfo carries none.
func linkCount(fs.FileInfo) (uint64, bool) { return 0, false }
