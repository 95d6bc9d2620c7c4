//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// fullPipe returns a pipe whose buffer is full: a process given w as its
// stdout blocks in its first write until r is read.
func fullPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	fd := int(w.Fd()) // Fd leaves the descriptor in blocking mode, as the child gets it
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := unix.Write(fd, make([]byte, 4096)); errors.Is(err, unix.EAGAIN) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	return r, w
}

// stopSSHFS stops (SIGSTOP) the sshfs process pid (for stoppedVolume and
// doctor's tests) and waits until every thread of it has stopped: a thread the signal has
// woken but that has not run yet still takes a request that reaches the
// kernel meanwhile, and that request is then never answered, nor can its
// caller be killed. It is continued on cleanup (before the unmount, which
// was registered earlier).
func stopSSHFS(t *testing.T, pid int) {
	t.Helper()
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP sshfs: %v", err)
	}
	t.Cleanup(func() { unix.Kill(pid, unix.SIGCONT) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		stats, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
		stopped := len(stats) > 0
		for _, st := range stats {
			b, err := os.ReadFile(st)
			i := bytes.LastIndexByte(b, ')')
			if err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				stopped = false
			}
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshfs %d has threads still running 10s after SIGSTOP", pid)
		}
	}
}

// waitBlockedInPipeWrite waits until one of s's threads sleeps writing to a
// pipe (its wchan names the pipe's write).
func waitBlockedInPipeWrite(t *testing.T, s *started) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var seen []string
	for time.Now().Before(deadline) && s.running() {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "task", "*", "wchan"))
		seen = seen[:0]
		for _, w := range tasks {
			b, _ := os.ReadFile(w)
			if strings.Contains(string(b), "pipe_write") {
				return
			}
			seen = append(seen, string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sharedwrite %q is not blocked writing to its stdout (its threads wait in %q); stderr: %s", s.cmd.Args, seen, s.errb.String())
}

// TestDoctorTimeoutZeroBoundsItsCleanUp: --timeout 0 lifts the bound of
// doctor's probes, not of its clean-up. On a volume that stops answering
// once the probes are done (here its sshfs is stopped while doctor writes
// its report), doctor gives up removing its probe directory at the
// clean-up's own bound, says what it left behind, and exits with its
// verdict's code (5: local mode on a FUSE mount). It used to wait for the
// volume for good, ended only by a signal.
func TestDoctorTimeoutZeroBoundsItsCleanUp(t *testing.T) {
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "sshfs")
	_, ms := sshhost.Mounts(t, 1, sshhost.Coherent)
	v := volume{mode: mode{name: "local"}, root: ms[0].Dir}
	r, w := fullPipe(t)
	cmd := exec.Command(swBin, v.args("--timeout", "0", "doctor")...)
	cmd.Env = baseEnv()
	cmd.Stdout = w
	s := startCmd(t, cmd)
	w.Close()
	waitBlockedInPipeWrite(t, s)
	stopSSHFS(t, ms[0].PID())
	// The volume is stopped: doctor may write its report, then cleans up.
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- b
	}()
	start := time.Now()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("doctor still running 30s after its report could be written; its threads wait in %s; stderr: %s", threadWaits(s.cmd.Process.Pid), s.errb.String())
	}
	code := s.code
	took := time.Since(start)
	stderr := s.errb.String()
	t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), stderr)
	report := <-out
	if !bytes.Contains(report, []byte("sharedwrite doctor")) {
		t.Errorf("doctor printed no report: %q", report[min(len(report), 64<<10):])
	}
	if code != 5 || !strings.Contains(stderr, "clean up") || !strings.Contains(stderr, "did not answer") ||
		!strings.Contains(stderr, `left behind: ".sharedwrite/doctor"`) {
		t.Errorf("exit %d, stderr %q; want 5 (the verdict), naming the clean-up that did not answer and what it left behind", code, stderr)
	}
	// The clean-up's bound (5 s at least, as the probes were quick) and the
	// grace a call gets after it, plus slack.
	if took > 12*time.Second {
		t.Errorf("doctor ended %v after its report; want within the clean-up's bound", took.Round(time.Millisecond))
	}
}

// threadWaits describes where the threads of process pid wait in the kernel.
func threadWaits(pid int) string {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*"))
	var out []string
	for _, task := range tasks {
		w, _ := os.ReadFile(filepath.Join(task, "wchan"))
		st, _ := os.ReadFile(filepath.Join(task, "stack"))
		out = append(out, filepath.Base(task)+": "+string(w)+"\n"+string(st))
	}
	return strings.Join(out, "\n")
}
