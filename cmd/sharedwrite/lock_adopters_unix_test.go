//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shQuote quotes args for sh -c.
func shQuote(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// readWhenWritten waits (bounded) until path exists and holds something, and
// returns its content.
func readWhenWritten(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after %v", path, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLockAdopterOutlivingLock: CMD starts a nested `update k` (which adopts
// the lock's lease and lock) and exits while that update's command still
// runs. lock waits for the adopter's operation before it releases the key,
// and every acknowledged increment counts. (lock released the key at once;
// the adopter later committed as if it still held the lease, while another
// process's `update k` had taken the key and read the old value: both exited
// 0, and the counter showed one increment.)
func TestLockAdopterOutlivingLock(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "0\n", "write", "k"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			dir := t.TempDir()
			mark, done := filepath.Join(dir, "computing"), filepath.Join(dir, "done")
			nested := shQuote(append([]string{swBin}, v.args("--timeout", "30s", "update", "k", "--", "sh", "-c",
				fmt.Sprintf(`read n; touch %s; sleep 1; echo $((n+1))`, shQuote(mark)))...)...)
			script := fmt.Sprintf(`( %s; echo $? > %s ) </dev/null >/dev/null 2>&1 &
i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 9; sleep 0.01; done
exit 0`, nested, shQuote(done), shQuote(mark))
			if r := v.run(t, "", "--timeout", "30s", "lock", "k", "--", "sh", "-c", script); r.code != 0 {
				t.Fatalf("lock: exit %d: %s", r.code, r.stderr)
			}
			// Another process increments k while (or after) the adopter computes.
			other := v.run(t, "", "--timeout", "30s", "update", "k", "--", "sh", "-c", `read n; sleep 2; echo $((n+1))`)
			adopter := readWhenWritten(t, done, 30*time.Second)
			b, err := os.ReadFile(filepath.Join(v.root, "k"))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(string(b))
			if other.code != 0 || adopter != "0" || got != "2" {
				t.Errorf("k = %s (other update exit %d, the adopter that outlived its lock exit %s); want 2 after two increments, both exit 0; stderr: %s",
					got, other.code, adopter, other.stderr)
			}
		})
	}
}

// TestLockLateAdopterRefused: in local mode, a background process started by
// CMD that outlives the lock and then runs `write k` with the inherited
// SHAREDWRITE_LEASE and descriptor 3 is refused (exit 4), as in Redis mode,
// and the key stays free. (It took the flock on the shared open file
// description and never released it: every other writer of k waited until
// that unrelated background process exited.)
func TestLockLateAdopterRefused(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	dir := t.TempDir()
	done, pidFile := filepath.Join(dir, "done"), filepath.Join(dir, "pid")
	late := shQuote(append([]string{swBin}, v.args("--timeout", "10s", "write", "k", "--from", "/dev/null")...)...)
	// The background child waits until lock has exited, writes k, then
	// keeps running (a daemon CMD started) for 20 s.
	bg := fmt.Sprintf(`echo $$ > %s; sleep 1; %s; echo $? > %s; exec sleep 20`, shQuote(pidFile), late, shQuote(done))
	script := fmt.Sprintf(`sh -c %s </dev/null >/dev/null 2>&1 &`, shQuote(bg))
	if r := v.run(t, "", "--timeout", "10s", "lock", "k", "--", "sh", "-c", script); r.code != 0 {
		t.Fatalf("lock: exit %d: %s", r.code, r.stderr)
	}
	pid, err := strconv.Atoi(readWhenWritten(t, pidFile, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, pid)
	if code := readWhenWritten(t, done, 20*time.Second); code != "4" {
		t.Errorf("the late write with the inherited lease: exit %s; want 4 (the lease has ended)", code)
	}
	if r := v.run(t, "x\n", "--timeout", "3s", "write", "k"); r.code != 0 {
		t.Errorf("write k while the lock's background child lives on: exit %d; want 0; stderr: %s", r.code, r.stderr)
	}
}

// TestLockForgedLeaseRefused: in local mode a forged SHAREDWRITE_LEASE
// (descriptor 3 opened on the key's free lock file, a token of 2^64-1) is
// refused, and later writes of the key work. (It was adopted as an ordinary
// acquisition with the token from the environment as is: that token became
// the floor, every later holder's token, floor+1, wrapped to 0, and every
// later write and update of the key was fenced for ever.)
func TestLockForgedLeaseRefused(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "1\n", "write", "k"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	id, err := os.ReadFile(filepath.Join(v.root, ".sharedwrite", "volume-id"))
	if err != nil {
		t.Fatal(err)
	}
	locks, _ := filepath.Glob(filepath.Join(v.root, ".sharedwrite", "locks", "*.lock"))
	if len(locks) != 1 {
		t.Fatalf("lock files: %v", locks)
	}
	env := fmt.Sprintf(`{"volume":%q,"key":"k","lease":"forged/1/a/b","token":18446744073709551615,"fd":3}`, strings.TrimSpace(string(id)))
	cmd := fmt.Sprintf(`SHAREDWRITE_LEASE=%s %s 3<>%s`, shQuote(env),
		shQuote(append([]string{swBin}, v.args("--timeout", "10s", "write", "k", "--from", "/dev/null")...)...), shQuote(locks[0]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "sh", "-c", cmd)
	sh.Env = baseEnv()
	out, _ := sh.CombinedOutput()
	if code := sh.ProcessState.ExitCode(); code == 0 {
		t.Errorf("a write with a forged SHAREDWRITE_LEASE: exit 0; want it refused; output: %s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(v.root, "k")); string(b) != "1\n" {
		t.Errorf("k = %q after the forged write; want it unchanged", b)
	}
	if r := v.run(t, "2\n", "--timeout", "5s", "write", "k"); r.code != 0 {
		t.Errorf("a plain write after the forged one: exit %d; want 0; stderr: %s", r.code, r.stderr)
	}
}
