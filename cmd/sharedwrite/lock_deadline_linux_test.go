//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestLockPastDeadlineRunsNoCommand: the lease and lock come only after
// --timeout has passed (the read of the key's lock record takes longer than
// the deadline on a slow volume). lock exits 3 and CMD is never started.
// (It was started, and sent SIGTERM at once, while the message said that
// nothing was run: a CMD that handles SIGTERM by finishing its work ran.)
// CMD is a script: the kernel opens it to start it, which inotify reports
// however soon the SIGTERM ends it.
func TestLockPastDeadlineRunsNoCommand(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	v := volume{mode: mode{name: "local"}, root: fs.Dir}
	if r := v.run(t, "a\n", "write", "k"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	script := filepath.Join(t.TempDir(), "cmd.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify_init1: %v", err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, script, unix.IN_OPEN); err != nil {
		t.Fatalf("inotify_add_watch %s: %v", script, err)
	}
	opened := func() bool {
		buf := make([]byte, 4096)
		n, err := unix.Read(in, buf)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("read inotify: %v", err)
		}
		return n > 0
	}

	// The check of what the test sees: a lock in time runs the script.
	if r := v.run(t, "", "--timeout", "10s", "lock", "k", "--", script); r.code != 0 || !opened() {
		t.Fatalf("lock k -- %s: exit %d, stderr %q; want 0, the script started", script, r.code, r.stderr)
	}

	var delayed atomic.Bool
	fs.Set(faultfs.Fault{Op: faultfs.OpRead, Glob: "*.lock", Count: 1, Delay: 3 * time.Second,
		Match: func(string) bool { delayed.Store(true); return true }})
	r := v.run(t, "", "--timeout", "1s", "lock", "k", "--", script)
	fs.Clear()
	if !delayed.Load() {
		t.Fatalf("the lock record was not read through the delay (exit %d, stderr %q)", r.code, r.stderr)
	}
	if r.code != 3 {
		t.Errorf("lock whose lease came after --timeout: exit %d; want 3; stderr: %s", r.code, r.stderr)
	}
	if opened() {
		t.Errorf("lock whose lease came after --timeout started its command (exit %d, stderr %q); want it not started", r.code, r.stderr)
	}
}
