package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestWatchSignalWhileStdoutBlocked: stdout is a pipe whose reader has stopped
// reading it (a hung consumer of `watch --json`), and watch is blocked writing
// a version's event into it. SIGTERM and SIGINT still end watch with exit 0,
// as the README says, instead of leaving it blocked until SIGKILL.
func TestWatchSignalWhileStdoutBlocked(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			if r := v.run(t, "v0\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			defer pw.Close()
			// The smallest pipe, filled: the event's write blocks. (Each
			// call of Fd puts the descriptor back in blocking mode.)
			fd := int(pw.Fd())
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, os.Getpagesize()); err != nil {
				t.Fatalf("F_SETPIPE_SZ: %v", err)
			}
			if err := unix.SetNonblock(fd, true); err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := unix.Write(fd, make([]byte, 512)); errors.Is(err, unix.EAGAIN) {
					break
				} else if err != nil {
					t.Fatalf("fill the pipe: %v", err)
				}
			}
			if err := unix.SetNonblock(fd, false); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(swBin, v.args("watch", "cfg", "--initial", "--json")...)
			cmd.Env = baseEnv()
			cmd.Stdout = pw
			var errb testrig.SyncBuffer
			cmd.Stderr = &errb
			testrig.OwnGroup(cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			testrig.KillGroupOnCleanup(t, cmd, done)

			// Wait until one of its threads sleeps in the pipe's write
			// (wchan pipe_write, or anon_pipe_write on newer kernels).
			blocked := func() bool {
				tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "task", "*", "wchan"))
				for _, f := range tasks {
					if b, err := os.ReadFile(f); err == nil && strings.HasSuffix(strings.TrimSpace(string(b)), "pipe_write") {
						return true
					}
				}
				return false
			}
			for deadline := time.Now().Add(20 * time.Second); !blocked(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("watch did not block writing the initial version's event within 20s; stderr: %s", errb.String())
				}
				if !isOpen(done) {
					t.Fatalf("watch exited (%v) before writing its event; stderr: %s", cmd.ProcessState, errb.String())
				}
			}

			cmd.Process.Signal(sig)
			select {
			case <-done:
				if code := cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("watch after %v with stdout blocked: exit %d; want 0; stderr: %s", sig, code, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Errorf("watch still running 10s after %v while blocked writing to stdout; want exit 0", sig)
			}
		})
	}
}
