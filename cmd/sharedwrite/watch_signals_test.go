package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchCmdSignalExits0: SIGTERM while watch's CMD runs: the CMD is
// interrupted and watch exits 0.
func TestWatchCmdSignalExits0(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "v0\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			mark := filepath.Join(t.TempDir(), "running")
			p := startWatch(t, v, "cfg", "--initial", "--interval", "100ms", "--", "sh", "-c", `cat >/dev/null; touch "$0"; exec sleep 30`, mark)
			waitForFile(t, mark, 20*time.Second)
			start := time.Now()
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
				if p.code != 0 {
					t.Errorf("watch after SIGTERM during CMD: exit %d; want 0; stderr: %s", p.code, p.errb.String())
				}
				t.Logf("exited %d after %v", p.code, time.Since(start))
			case <-time.After(15 * time.Second):
				t.Errorf("watch still running 15s after SIGTERM")
			}
		})
	}
}

// TestInitSignalWritesNothing: SIGTERM while init's CMD runs: exit 143,
// nothing created, no temps.
func TestInitSignalWritesNothing(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			mark := filepath.Join(t.TempDir(), "running")
			s := v.start(t, "init", "g", "--", "sh", "-c", `touch "$0"; echo partial; exec sleep 30`, mark)
			waitForFile(t, mark, 20*time.Second)
			s.cmd.Process.Signal(syscall.SIGTERM)
			if code := s.wait(t, 20*time.Second); code != 128+int(syscall.SIGTERM) {
				t.Errorf("exit %d; want %d; stderr %s", code, 128+int(syscall.SIGTERM), s.errb.String())
			}
			if _, err := os.Stat(filepath.Join(v.root, "g")); !os.IsNotExist(err) {
				t.Errorf("g after an interrupted init: %v; want not to exist", err)
			}
			if l := leftovers(t, v.root); len(l) > 0 {
				t.Errorf("temps left behind: %q", l)
			}
			// A later init works and runs its generator.
			r := v.run(t, "", "--timeout", "10s", "init", "g", "--", "echo", "second")
			if r.code != 0 || r.stdout != "second\n" {
				t.Errorf("init after the interrupted one: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestTimeoutDoesNotEndWatch: --timeout bounds nothing in watch.
func TestTimeoutDoesNotEndWatch(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			p := startWatch(t, v, "--timeout", "1s", "cfg", "--interval", "100ms")
			time.Sleep(2500 * time.Millisecond)
			if !isOpen(p.done) {
				t.Fatalf("watch ended (exit %d) after --timeout 1s; stderr: %s", p.code, p.errb.String())
			}
			if r := v.run(t, "late\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			p.waitLine(t, 10*time.Second, "the late version", func(s string) bool { return strings.Contains(s, "token=") })
			p.stop(t, syscall.SIGINT)
		})
	}
}

// TestUpdateCmdKilledExits8: the update command is killed by a signal
// after printing: exit 8, nothing written.
func TestUpdateCmdKilledExits8(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "orig\n", "write", "f"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			r := v.run(t, "", "update", "f", "--", "sh", "-c", `cat >/dev/null; echo new; kill -9 $$`)
			if r.code != 8 {
				t.Errorf("update with a killed command: exit %d; want 8; stderr %s", r.code, r.stderr)
			}
			if b, _ := os.ReadFile(filepath.Join(v.root, "f")); string(b) != "orig\n" {
				t.Errorf("f = %q; want \"orig\\n\"", b)
			}
			// A command that prints nothing: the new content is empty.
			r = v.run(t, "", "update", "f", "--", "sh", "-c", `cat >/dev/null`)
			if r.code != 0 {
				t.Errorf("update with an empty output: exit %d; stderr %s", r.code, r.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(v.root, "f")); err != nil || len(b) != 0 {
				t.Errorf("f = %q, %v; want empty", b, err)
			}
			r = v.run(t, "", "read", "f")
			if r.code != 0 || r.stdout != "" {
				t.Errorf("read: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "outside") {
				t.Errorf("read warns: %s", r.stderr)
			}
		})
	}
}
