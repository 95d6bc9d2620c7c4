//go:build !linux

package writer

// fsNameMax returns NAME_MAX: elsewhere the filesystem's own limit is not asked.
func fsNameMax(string) int { return nameMax }
