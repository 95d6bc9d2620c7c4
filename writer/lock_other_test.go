//go:build !unix

package writer

// tempLocked always reports false without flock (no flock).
func (r *Root) tempLocked(string) (bool, error) { return false, nil }
