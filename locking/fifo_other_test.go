//go:build !unix

package locking

import "errors"

// mkfifo has no named pipes to make here: a case that needs one skips.
func mkfifo(path string, mode uint32) error { return errors.ErrUnsupported }
