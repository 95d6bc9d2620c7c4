package cli

import (
	"syscall"
	"testing"
)

// After SIGINT or SIGTERM the exit code is 128 + the signal, as a shell
// reports a process killed by it, unless the change is visible: 0 stays 0 and
// 7 (committed, durability unconfirmed) stays 7, never "killed" (which reads
// as nothing changed).
func TestExitAfterSignal(t *testing.T) {
	cases := []struct {
		code int
		sig  syscall.Signal
		want int
	}{
		{exitOK, syscall.SIGTERM, exitOK},
		{exitUnconfirmed, syscall.SIGTERM, exitUnconfirmed},
		{exitFailure, syscall.SIGTERM, 128 + int(syscall.SIGTERM)},
		{exitLeaseLost, syscall.SIGINT, 128 + int(syscall.SIGINT)},
		{exitNotObtained, syscall.SIGINT, 128 + int(syscall.SIGINT)},
	}
	for _, tc := range cases {
		if got := exitAfterSignal(tc.code, tc.sig); got != tc.want {
			t.Errorf("exitAfterSignal(%d, %v) = %d; want %d", tc.code, tc.sig, got, tc.want)
		}
	}
}
