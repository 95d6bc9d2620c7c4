//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/procstat"
)

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	start, zombie := procstat.Of(pid)
	return start != "" && !zombie
}

// TestSignalReachesCommandChildren: SIGTERM or SIGINT to `lock`, `update` or
// `init` while their CMD (a shell) runs a child: the CLI exits 128+n and the
// child is stopped with CMD. Only CMD got SIGTERM, and the shell's child went
// on running, on NAME, after the lease and lock were released.
func TestSignalReachesCommandChildren(t *testing.T) {
	const script = `cat >/dev/null; sleep 30 & echo $! > "$1"; touch "$0"; wait; echo new`
	for _, tc := range []struct {
		op  string
		sig syscall.Signal
	}{{"lock", syscall.SIGTERM}, {"lock", syscall.SIGINT}, {"update", syscall.SIGTERM}, {"init", syscall.SIGTERM}} {
		for _, m := range modes(t) {
			t.Run(tc.op+"/"+tc.sig.String()+"/"+m.name, func(t *testing.T) {
				v := newVolume(t, m)
				if tc.op != "init" {
					if r := v.run(t, "orig\n", "write", "f"); r.code != 0 {
						t.Fatalf("write: exit %d: %s", r.code, r.stderr)
					}
				}
				dir := t.TempDir()
				mark, pidf := filepath.Join(dir, "mark"), filepath.Join(dir, "pid")
				s := v.start(t, "--lease-ttl", "30s", tc.op, "f", "--", "sh", "-c", script, mark, pidf)
				waitForFile(t, mark, 30*time.Second)
				b, err := os.ReadFile(pidf)
				pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || perr != nil {
					t.Fatalf("the child's pid: %q, %v, %v", b, err, perr)
				}
				killOnCleanup(t, pid)
				s.cmd.Process.Signal(tc.sig)
				if code := s.wait(t, 30*time.Second); code != 128+int(tc.sig) {
					t.Errorf("exit %d; want %d; stderr %s", code, 128+int(tc.sig), s.errb.String())
				}
				deadline := time.Now().Add(5 * time.Second)
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("CMD's child (pid %d) outlived the interrupted %s", pid, tc.op)
				}
				if got, _ := os.ReadFile(filepath.Join(v.root, "f")); tc.op != "lock" && string(got) == "new\n" {
					t.Errorf("the interrupted %s committed its output", tc.op)
				}
			})
		}
	}
}

// update's CMD prints the new content, exits 0 and leaves a background child
// holding its stdout: update waits filterWaitDelay for the output to end,
// then refuses (exit 8, nothing committed: the output may not be complete),
// saying CMD exited 0, and stops that child. The child was left running, and
// the message said status -1.
func TestUpdateStopsLeftoverChild(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "orig\n", "write", "f"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			pidf := filepath.Join(t.TempDir(), "pid")
			r := v.run(t, "", "update", "f", "--", "sh", "-c", `cat >/dev/null; echo new; sleep 30 2>/dev/null & echo $! > "$0"`, pidf)
			b, _ := os.ReadFile(pidf)
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("child pid %q: %v", b, err)
			}
			time.Sleep(200 * time.Millisecond)
			childAlive := alive(pid)
			syscall.Kill(pid, syscall.SIGKILL)
			got, _ := os.ReadFile(filepath.Join(v.root, "f"))
			if r.code != 8 || string(got) != "orig\n" {
				t.Errorf("update: exit %d, file %q; want 8 (its output may not be complete), the file unchanged", r.code, got)
			}
			if childAlive {
				t.Errorf("update refused (exit 8) and left CMD's background child (pid %d) running", pid)
			}
			if !strings.Contains(r.stderr, "exited with status 0") {
				t.Errorf("CMD exited 0; the message should say so: %s", r.stderr)
			}
		})
	}
}

// SIGTERM to `watch -- sh -c '...'` while the shell waits for a child (no
// exec) ends watch at once, exit 0, and the child with it: CMD runs in a
// process group of its own, which the signal reaches whole. Before, SIGINT
// went to the shell alone: in the wait builtin it ended and its child went on
// (holding watch's stdout); waiting for a foreground child it held the
// signal off, and watch took 10 s to kill it, the child again left running.
func TestWatchCmdChildrenStopOnSignal(t *testing.T) {
	scripts := map[string]string{
		// the shell waits in the wait builtin (SIGINT to it alone ended it;
		// its child went on)
		"background": `cat >/dev/null; sleep 30 & echo $! > "$1"; touch "$0"; wait; echo done`,
		// the shell waits for a foreground child (SIGINT to it alone was
		// held off until the child ended: watch waited WaitDelay, 10 s,
		// killed the shell alone, and the child went on)
		"foreground": `cat >/dev/null; echo $$ > "$1.sh"; (echo $(sh -c 'echo $PPID') > "$1"; touch "$0"; exec sleep 30); echo done`,
	}
	for sname, script := range scripts {
		for _, m := range modes(t) {
			t.Run(sname+"/"+m.name, func(t *testing.T) {
				v := newVolume(t, m)
				if r := v.run(t, "v0\n", "write", "cfg"); r.code != 0 {
					t.Fatalf("write: exit %d: %s", r.code, r.stderr)
				}
				dir := t.TempDir()
				mark, pidf := filepath.Join(dir, "running"), filepath.Join(dir, "pid")
				p := startWatch(t, v, "cfg", "--initial", "--interval", "100ms", "--", "sh", "-c",
					script, mark, pidf)
				waitForFile(t, mark, 20*time.Second)
				b, _ := os.ReadFile(pidf)
				pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil {
					t.Fatalf("child pid %q: %v", b, err)
				}
				killOnCleanup(t, pid)
				start := time.Now()
				p.cmd.Process.Signal(syscall.SIGTERM)
				// The sharedwrite process itself (a zombie once it exited: alive
				// is false); p.done also waits for EOF on its stdout, which CMD's
				// orphaned child would hold open.
				for alive(p.cmd.Process.Pid) && time.Since(start) < 30*time.Second {
					time.Sleep(10 * time.Millisecond)
				}
				took := time.Since(start)
				// Signalled before watch exited, the child may take a moment
				// more to die on a busy machine.
				for end := time.Now().Add(time.Second); alive(pid) && time.Now().Before(end); {
					time.Sleep(10 * time.Millisecond)
				}
				childAlive := alive(pid)
				syscall.Kill(pid, syscall.SIGKILL) // it holds watch's stdout open
				select {
				case <-p.done:
				case <-time.After(40 * time.Second):
					t.Fatalf("watch still running 40s after SIGTERM")
				}
				if p.code != 0 {
					t.Errorf("exit %d; want 0", p.code)
				}
				if childAlive {
					t.Errorf("CMD's child (pid %d) still running 1s after watch exited", pid)
				}
				if took > 3*time.Second {
					t.Errorf("watch took %v to stop after SIGTERM; want prompt (< 3s)", took)
				}
				time.Sleep(300 * time.Millisecond)
				if alive(pid) {
					t.Errorf("CMD's child (pid %d) outlived watch after SIGTERM", pid)
				}
			})
		}
	}
}
