//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestDoctorHungVolume: on a volume that does not answer (its sshfs stopped:
// every call into the mount blocks in the kernel, where neither a deadline
// nor a signal interrupts it) doctor gives up at --timeout naming the step
// (exit 3, as for a deadline passing elsewhere), or at SIGINT (130). It
// stayed blocked in os.OpenRoot for good, deaf to both.
func TestDoctorHungVolume(t *testing.T) {
	v := stoppedVolume(t, nil)

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		s := v.start(t, "--timeout", "2s", "doctor")
		code := s.wait(t, 20*time.Second)
		took := time.Since(start)
		t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), s.errb.String())
		if code != 3 || !strings.Contains(s.errb.String(), "open root") || !strings.Contains(s.errb.String(), "did not answer") {
			t.Errorf("doctor on a stopped sshfs, --timeout 2s: exit %d, stderr %q; want 3 naming the open of the root that did not answer", code, s.errb.String())
		}
		if took > 10*time.Second {
			t.Errorf("doctor on a stopped sshfs, --timeout 2s: took %v", took.Round(time.Millisecond))
		}
	})

	t.Run("SIGINT", func(t *testing.T) {
		s := v.start(t, "--timeout", "0", "doctor")
		waitBlockedInFUSE(t, s)
		s.cmd.Process.Signal(os.Interrupt)
		if code := s.wait(t, 10*time.Second); code != 130 {
			t.Errorf("doctor on a stopped sshfs after SIGINT: exit %d, stderr %q; want 130", code, s.errb.String())
		}
	})
}

// TestDoctorSlowProbe: a volume that stops answering after the root was
// opened (here: its mkdir takes longer than --timeout) ends doctor at
// --timeout too, naming the probe that did not answer (the write-path
// probes ran unbounded).
func TestDoctorSlowProbe(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	f.Set(faultfs.Fault{Op: faultfs.OpMkdir, Delay: 4 * time.Second})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	s := v.start(t, "--timeout", "1s", "doctor")
	code := s.wait(t, 30*time.Second)
	t.Logf("exit %d: %s", code, s.errb.String())
	if code != 3 || !strings.Contains(s.errb.String(), "did not answer") || !strings.Contains(s.errb.String(), "probes") {
		t.Errorf("doctor with a mkdir slower than --timeout: exit %d, stderr %q; want 3 naming the probes that did not answer", code, s.errb.String())
	}
	if f.Count(faultfs.OpMkdir) == 0 {
		t.Errorf("no mkdir reached the filesystem: the fault was not injected")
	}
	if s.out.String() != "" {
		t.Errorf("doctor printed a report after giving up: %s", s.out.String())
	}
}

// waitBlockedInFUSE waits until one of s's threads sleeps in a FUSE request:
// its wchan names the wait for the answer (request_wait_answer) or, when the
// stopped daemon's connection has too many requests outstanding already, the
// wait to send one (fuse_get_req).
func waitBlockedInFUSE(t *testing.T, s *started) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "task", "*", "wchan"))
		seen = seen[:0]
		for _, w := range tasks {
			b, _ := os.ReadFile(w)
			if w := string(b); strings.Contains(w, "request_wait_answer") || strings.Contains(w, "fuse_get_req") {
				return
			}
			seen = append(seen, string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sharedwrite %q is not blocked in a FUSE request after 10s (its threads wait in %q); stderr: %s", s.cmd.Args, seen, s.errb.String())
}
