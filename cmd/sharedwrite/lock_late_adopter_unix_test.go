//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestLockLateAdopterRefusedWhileAnotherHolds: in local mode, a background
// process that CMD left behind runs `write k` with the inherited
// SHAREDWRITE_LEASE and descriptor 3 while the next `lock k` holds the key.
// Its lease has ended, as when the key is free: exit 4, and k is untouched.
// (It was refused as a forged descriptor, exit 1, "inherited lock descriptor
// refused", which tells the caller nothing of a lease that has ended.)
func TestLockLateAdopterRefusedWhileAnotherHolds(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "v1\n", "write", "k"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	dir := t.TempDir()
	pidFile, goFile, done, held := filepath.Join(dir, "pid"), filepath.Join(dir, "go"), filepath.Join(dir, "done"), filepath.Join(dir, "held")
	late := shQuote(append([]string{swBin}, v.args("--timeout", "5s", "write", "k", "--from", "/dev/null")...)...)
	// The background child waits (bounded) for the test's go-ahead, given
	// once the next lock holds k, then writes k with what it inherited.
	bg := fmt.Sprintf(`echo $$ > %s; i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 9; sleep 0.01; done; %s; echo $? > %s`,
		shQuote(pidFile), shQuote(goFile), late, shQuote(done))
	if r := v.run(t, "", "--timeout", "10s", "lock", "k", "--", "sh", "-c", fmt.Sprintf(`sh -c %s </dev/null >/dev/null 2>&1 &`, shQuote(bg))); r.code != 0 {
		t.Fatalf("first lock: exit %d: %s", r.code, r.stderr)
	}
	pid, err := strconv.Atoi(readWhenWritten(t, pidFile, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	killOnCleanup(t, pid)
	// The next lock holds k until the late write has been answered.
	next := v.start(t, "--timeout", "10s", "lock", "k", "--", "sh", "-c",
		`touch "$0"; i=0; while [ ! -e "$1" ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 9; sleep 0.01; done`, held, done)
	waitForFile(t, held, 10*time.Second)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := readWhenWritten(t, done, 20*time.Second); code != "4" {
		t.Errorf("the late write with the inherited lease while another lock holds k: exit %s; want 4 (the lease has ended)", code)
	}
	if code := next.wait(t, 20*time.Second); code != 0 {
		t.Errorf("next lock: exit %d; want 0; stderr: %s", code, next.errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(v.root, "k")); err != nil || string(b) != "v1\n" {
		t.Errorf("k = %q (%v); want it untouched by the late write", b, err)
	}
}
