//go:build !linux

package rootrel

// bound finds no other mount of the root outside Linux.
func bound(rootDir, dir string) (string, bool) { return "", false }
