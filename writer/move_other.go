//go:build !unix

package writer

import (
	"io/fs"
	"os"
	"path/filepath"
)

// renameAt renames absSrc onto rel under the root directory rootDir by path:
// without renameat the destination's directory handle cannot be used.
func renameAt(absSrc string, _ *os.File, _, rootDir, rel string) error {
	return os.Rename(absSrc, filepath.Join(rootDir, filepath.FromSlash(rel)))
}

// haveFileID: fileID tells nothing here.
const haveFileID = false

// fileID is not available here: intents compare size and mtime only.
func fileID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }

// changeTime is not known here.
func changeTime(fs.FileInfo) int64 { return 0 }

// sameDevice cannot be told here; the rename is tried and EXDEV handled.
func sameDevice(a, b fs.FileInfo) bool { return true }

// syncDirPath is a no-op: directories cannot be fsynced on Windows.
func syncDirPath(string) error { return nil }

// claimSource: no flock here; two Moves of one source are not told apart
// before they copy.
func claimSource(*os.File) (busy bool, err error) { return false, nil }

// openSource opens nothing here: a file held open cannot be renamed or
// removed on Windows, and there is no claim to take.
func openSource(string) (sf *os.File, opened bool, err error) { return nil, false, nil }
