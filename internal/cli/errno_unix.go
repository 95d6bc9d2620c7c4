//go:build unix

package cli

import "syscall"

func errEXDEV() error { return syscall.EXDEV }
