//go:build !linux

package writer

import (
	"strconv"
	"sync"
	"time"
)

// processStarted approximates the process start with package initialisation.
var processStarted = time.Now()

// procStart returns the process's start wall time in unix seconds.
func procStart() string { return strconv.FormatInt(processStarted.Unix(), 10) }

// startOf is only known for this process outside Linux; "" means unknown.
func startOf(pid int) string { return "" }

var (
	umaskOnce sync.Once
	umaskVal  uint32
)

// umask returns the process umask, read once.
func umask() uint32 {
	umaskOnce.Do(func() { umaskVal = umaskSyscall() })
	return umaskVal
}
