//go:build !linux

package coordinator

// boundRel finds no other mount of the root outside Linux.
func boundRel(rootDir, dir string) (string, bool) { return "", false }
