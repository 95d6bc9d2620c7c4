//go:build unix

package locking

import (
	"regexp"
	"syscall"
)

var (
	sigStop    = syscall.SIGSTOP
	sigCont    = syscall.SIGCONT
	regexpLost = regexp.MustCompile(`lease lost`)
)
