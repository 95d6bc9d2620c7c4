//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd

package cli

// isTerminal reports false where the terminal check is not implemented: no
// progress output, which is the safe side.
func isTerminal(fd uintptr) bool { return false }
