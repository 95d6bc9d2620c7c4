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
)

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
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
				t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
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
