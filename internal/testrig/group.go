//go:build unix || windows

package testrig

import (
	"os/exec"
	"syscall"
	"testing"
)

// KillGroupOnCleanup registers a cleanup that, unless done is closed by
// then (the process was waited for), kills the process group of the started
// cmd with KillGroup(pid, sigs...) and waits for done.
func KillGroupOnCleanup(t testing.TB, cmd *exec.Cmd, done <-chan struct{}, sigs ...syscall.Signal) {
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			KillGroup(cmd.Process.Pid, sigs...)
			<-done
		}
	})
}
