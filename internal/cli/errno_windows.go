//go:build windows

package cli

import "syscall"

func errEXDEV() error { return syscall.Errno(17) } // ERROR_NOT_SAME_DEVICE
