//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, st := range stats {
		b, err := os.ReadFile(st)
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		// After "pid (comm)": state, ppid, ...
		if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			k, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
			kids = append(kids, k)
		}
	}
	return kids
}

// stopServer stops (SIGSTOP) h's sftp server: the sshd processes serving its
// connections. The mounts' sshfs still takes every request from the kernel
// and none is answered, as when a file server hangs. It returns the function
// that continues them, also called on cleanup (before the unmounts, which
// were registered earlier, run).
func stopServer(t *testing.T, h *sshhost.Host) (resume func()) {
	t.Helper()
	var stopped []int
	// The connection's process shows among sshd's children a moment after
	// the mount is up, at worst.
	kids := childrenOf(t, h.PID())
	for end := time.Now().Add(5 * time.Second); len(kids) == 0 && time.Now().Before(end); kids = childrenOf(t, h.PID()) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range kids {
		for _, p := range append([]int{k}, childrenOf(t, k)...) {
			if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
				t.Fatalf("SIGSTOP %d: %v", p, err)
			}
			stopped = append(stopped, p)
		}
	}
	if len(stopped) == 0 {
		t.Fatalf("sshd %d serves no connection", h.PID())
	}
	resume = func() {
		for _, p := range stopped {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	return resume
}

// waitEnded waits (d at most) until the process s started has ended and
// returns how long that took: reaped, or its main thread exited (a zombie)
// while another of its threads still waits in the kernel for a FUSE request
// the server took and never answers. Linux cannot abandon such a request,
// even for SIGKILL: the process is reaped, with the exit code it chose, once
// the server answers. resume lets the server answer: it is called before the
// test fails, so that the process can be killed and reaped on cleanup.
func waitEnded(t *testing.T, s *started, d time.Duration, resume func()) time.Duration {
	t.Helper()
	start := time.Now()
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for s.running() {
		b, err := os.ReadFile(stat)
		if i := bytes.LastIndexByte(b, ')'); err == nil && i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			break
		}
		if time.Since(start) > d {
			resume()
			t.Fatalf("sharedwrite %q still running after %v; stderr: %s", s.cmd.Args, d, s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// waitForBenchFile waits until the file name shows in a bench directory in
// export (the server's side: the test never looks through a mount whose
// server it may stop).
func waitForBenchFile(t *testing.T, s *started, export, name string) {
	t.Helper()
	waitFor(t, s, func() bool {
		m, _ := filepath.Glob(filepath.Join(export, "sharedwrite-bench-*", name))
		return len(m) > 0
	}, "the bench's file "+name)
}

// TestBenchVolumeHung: the root is an sshfs mount whose server stops
// answering before the bench opens the root, or while it runs. bench ends
// within --timeout (plus the grace it gives a call to return, plus slack)
// with exit 3, as other commands do when the volume does not answer in time,
// naming the step, and says what its clean-up, which cannot reach the volume,
// left there; a signal ends it within that grace with 128+signal. bench used
// to wait until the volume answered again, whatever --timeout and the
// signals said.
func TestBenchVolumeHung(t *testing.T) {
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "sshfs")
	const (
		timeout = 2 * time.Second
		within  = timeout + 3*time.Second // the call's grace (1 s) and slack
	)
	check := func(t *testing.T, h *sshhost.Host, s *started, took time.Duration, code, wantCode int, step string, bound time.Duration) {
		t.Helper()
		stderr := s.errb.String()
		if code != wantCode || took > bound || !strings.Contains(stderr, step) {
			t.Errorf("exit %d after %v, stderr %q; want %d within %v, naming %q",
				code, took.Round(time.Millisecond), stderr, wantCode, bound, step)
		}
		dirs, _ := filepath.Glob(filepath.Join(h.Export, "sharedwrite-bench-*"))
		for _, d := range dirs {
			if !strings.Contains(stderr, filepath.Base(d)) {
				t.Errorf("%s is left, but stderr %q does not say so", filepath.Base(d), stderr)
			}
		}
		t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(stderr))
	}

	t.Run("before the open", func(t *testing.T) {
		h, ms := sshhost.Mounts(t, 1, sshhost.Coherent)
		m := ms[0]
		resume := stopServer(t, h)
		v := volume{mode: mode{name: "local"}, root: m.Dir}
		s := v.start(t, "--timeout", timeout.String(), "bench", "--ops", "2", "--json")
		took := waitEnded(t, s, 30*time.Second, resume)
		resume()
		code := s.wait(t, time.Minute)
		check(t, h, s, took, code, 3, "open root", within)
		if !strings.Contains(s.errb.String(), "did not answer") || s.out.String() != "" {
			t.Errorf("stdout %q, stderr %q; want no report, and the volume named as not answering", s.out.String(), s.errb.String())
		}
	})

	// Where the stop lands is chance: a few attempts in the turns of bare
	// and coordinated writes, and one in the workers' cases.
	for _, c := range []struct {
		ops, file string
		pause     time.Duration
	}{
		{"1000000", "coordinated", 0},
		{"1000000", "coordinated", 150 * time.Millisecond},
		{"1000000", "coordinated", 400 * time.Millisecond},
		{"200", "contended", 0},
	} {
		t.Run("mid-run", func(t *testing.T) {
			h, ms := sshhost.Mounts(t, 1, sshhost.Coherent)
			m := ms[0]
			v := volume{mode: mode{name: "local"}, root: m.Dir}
			s := v.start(t, "--timeout", timeout.String(), "bench", "--ops", c.ops, "--workers", "2")
			waitForBenchFile(t, s, h.Export, c.file)
			time.Sleep(c.pause)
			resume := stopServer(t, h)
			took := waitEnded(t, s, 30*time.Second, resume)
			resume()
			code := s.wait(t, time.Minute)
			check(t, h, s, took, code, 3, "did not answer", within)
		})
	}

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			h, ms := sshhost.Mounts(t, 1, sshhost.Coherent)
			m := ms[0]
			v := volume{mode: mode{name: "local"}, root: m.Dir}
			s := v.start(t, "--timeout", "1m", "bench", "--ops", "1000000")
			waitForBenchFile(t, s, h.Export, "coordinated")
			resume := stopServer(t, h)
			time.Sleep(300 * time.Millisecond)
			s.cmd.Process.Signal(sig)
			took := waitEnded(t, s, 30*time.Second, resume)
			resume()
			code := s.wait(t, time.Minute)
			check(t, h, s, took, code, 128+int(sig), "did not answer", 3*time.Second)
		})
	}
}
