//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readPid waits for path to hold a pid.
func readPid(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return pid
		}
	}
	t.Fatalf("%s was not written", path)
	return 0
}

// The command after "--" (and what it started) does not outlive a
// sharedwrite process killed with SIGKILL: it would go on running with no
// one holding the lease, and once the lease expired another host's holder
// would run beside it.
func TestCommandDoesNotOutliveAKilledCLI(t *testing.T) {
	for _, cmd := range []string{"lock", "update"} {
		t.Run(cmd, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			dir := t.TempDir()
			shPid, bgPid := filepath.Join(dir, "sh.pid"), filepath.Join(dir, "bg.pid")
			script := "echo $$ > " + shPid + "; sleep 60 & echo $! > " + bgPid + "; wait"
			p := v.start(t, "--lease-ttl", "2s", cmd, "k", "--", "sh", "-c", script)
			sh, bg := readPid(t, shPid), readPid(t, bgPid)
			// The command's own group (it leads it): only what this test started.
			t.Cleanup(func() { _ = syscall.Kill(-sh, syscall.SIGKILL) })
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.wait(t, 30*time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for alive(sh) || alive(bg) {
				if time.Now().After(deadline) {
					t.Fatalf("10 s after the CLI was killed: sh alive %v, its background sleep alive %v", alive(sh), alive(bg))
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The key is free again at once (local mode: the lock file's
			// lock went with the last process holding it).
			if r := v.run(t, "", "--timeout", "5s", "write", "k", "--from", "-"); r.code != 0 {
				t.Fatalf("write after the kill: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}

// The same when the CLI's stderr is a pipe whose reader died with it (a
// `2>&1 | tee` killed as one job): the guard must stop the command before
// it writes its message there, and must not die of that write.
func TestCommandDoesNotOutliveAKilledCLIWithItsStderrReader(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	dir := t.TempDir()
	shPid, bgPid := filepath.Join(dir, "sh.pid"), filepath.Join(dir, "bg.pid")
	script := "echo $$ > " + shPid + "; sleep 60 & echo $! > " + bgPid + "; wait"
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd := exec.Command(swBin, v.args("--lease-ttl", "2s", "lock", "k", "--", "sh", "-c", script)...)
	cmd.Env = baseEnv()
	cmd.Stderr = pw
	s := startCmd(t, cmd)
	sh, bg := readPid(t, shPid), readPid(t, bgPid)
	t.Cleanup(func() { _ = syscall.Kill(-sh, syscall.SIGKILL) })
	pr.Close() // the reader is gone
	pw.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	deadline := time.Now().Add(10 * time.Second)
	for alive(sh) || alive(bg) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the CLI was killed: sh alive %v, its background sleep alive %v", alive(sh), alive(bg))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
