//go:build linux

package testrig

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillGroupOnCleanup starts a shell in its own group that starts a
// sleep, and checks that the cleanup ends both, not only the shell.
func TestKillGroupOnCleanup(t *testing.T) {
	var out SyncBuffer
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	cmd.Stdout = &out
	OwnGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sh: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var child int
	t.Run("cleanup", func(t *testing.T) {
		KillGroupOnCleanup(t, cmd, done)
		deadline := time.Now().Add(10 * time.Second)
		for child == 0 && time.Now().Before(deadline) {
			child, _ = strconv.Atoi(strings.TrimSpace(out.String()))
			time.Sleep(5 * time.Millisecond)
		}
		if child == 0 {
			t.Fatalf("sh printed no child pid: %q", out.String())
		}
	})
	select {
	case <-done:
	default:
		t.Fatal("shell still running after the cleanup")
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("shell: got %v; want killed by SIGKILL", cmd.ProcessState)
	}
	// The sleep is the shell's child, reparented once the shell died; it is
	// gone once kill(pid, 0) says ESRCH (or it is a zombie awaiting reaping).
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(child, 0)
		if errors.Is(err, syscall.ESRCH) || zombie(child) {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("sleep %d of the killed group still running: kill(0): %v", child, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombie reports whether pid has exited and waits only to be reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && strings.HasPrefix(rest, "Z")
}
