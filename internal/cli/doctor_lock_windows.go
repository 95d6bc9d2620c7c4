//go:build windows

package cli

import (
	"errors"
	"os"
)

func tryFlock(f *os.File) (bool, error) { return false, errors.ErrUnsupported }

func unflock(f *os.File) error { return errors.ErrUnsupported }

func fileDevice(fi os.FileInfo) (uint64, bool) { return 0, false }
