//go:build unix

package testrig

import (
	"context"
	"syscall"
	"testing"
)

// TestRedisSignalOnlyWhileRunning: Signal reaches the server while it runs
// and refuses once it was killed, rather than signalling pid 0 (the caller's
// own process group).
func TestRedisSignalOnlyWhileRunning(t *testing.T) {
	r := StartRedis(t)
	if err := r.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP a running server: %v", err)
	}
	if err := r.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT a running server: %v", err)
	}
	if err := r.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after SIGSTOP and SIGCONT: %v", err)
	}
	r.Kill()
	if err := r.Signal(syscall.SIGCONT); err == nil {
		t.Fatal("Signal after Kill succeeded; want an error (nothing to signal)")
	}
}
