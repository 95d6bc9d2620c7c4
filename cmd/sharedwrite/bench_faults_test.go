package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A bench leaves nothing of its own names behind: no lock file in
// .sharedwrite/locks and no Redis key for a name under its directory, which
// is gone (and, its name being random, never used again: each run would
// otherwise add more, for ever).
func TestBenchLeavesNoRecords(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			before := treeOf(t, v.root)
			var keysBefore []string
			if m.redis != "" {
				keysBefore = redisKeysOf(t, volumeIDOf(t, v.root))
			}
			if r := v.run(t, "", "bench", "--ops", "8"); r.code != 0 {
				t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
			}
			if d := newEntries(before, treeOf(t, v.root)); len(d) > 0 {
				t.Errorf("bench left %d new entries on the volume: %q", len(d), d)
			}
			if m.redis != "" {
				if d := newEntries(keysBefore, redisKeysOf(t, volumeIDOf(t, v.root))); len(d) > 0 {
					t.Errorf("bench left %d new Redis keys (no TTL): %q", len(d), d)
				}
			}
		})
	}
}

// A --size the machine cannot hold ends in a clear error, never in a Go
// runtime crash (a stack dump), and leaves no bench directory.
func TestBenchHugeSize(t *testing.T) {
	for _, size := range []string{"1099511627776" /* 1 TiB */, "9223372036854775807"} {
		t.Run(size, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			r := v.run(t, "", "bench", "--ops", "1", "--size", size)
			crashed := strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ")
			if crashed || r.code == 0 {
				first, _, _ := strings.Cut(r.stderr, "\n")
				t.Errorf("bench --size %s: exit %d, stderr starts %q (%d bytes); want a clear error naming --size, no runtime crash", size, r.code, first, len(r.stderr))
			}
			if d := benchDirs(t, v.root); len(d) > 0 {
				t.Errorf("bench directory left behind: %q", d)
			}
		})
	}
}

// When the bench directory cannot be removed at the end, bench says so,
// naming it, and exits non-zero: not 0 in silence with the directory left.
func TestBenchCleanupFailureReported(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("chattr not installed")
	}
	v := newVolume(t, mode{name: "local"})
	s := v.start(t, "bench", "--ops", "400")
	waitFor(t, s, func() bool { return len(benchDirs(t, v.root)) > 0 }, "the bench directory")
	dirs := benchDirs(t, v.root)
	keep := filepath.Join(dirs[0], "immutable")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(chattr, "+i", keep).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", keep).Run() })
	code := s.wait(t, 2*time.Minute)
	left := benchDirs(t, v.root)
	if len(left) > 0 && (code == 0 || !strings.Contains(s.errb.String(), filepath.Base(dirs[0]))) {
		t.Errorf("bench directory %q could not be removed, yet bench exited %d with stderr %q; want the leftover reported (naming it), not silence", left, code, s.errb.String())
	}
}

// --workers opens one coordinator per worker. Past the descriptor limit
// that is not reported as a bad volume (exit 5): the volume is fine.
func TestBenchManyWorkersNotBadVolume(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	code, stderr := runLimited(t, 64, "", v.args("bench", "--ops", "1", "--workers", "64")...)
	if code == 0 || !strings.Contains(stderr, "too many open files") {
		t.Fatalf("bench --workers 64 under ulimit -n 64: exit %d, %q; want it out of descriptors (the setup did not take)", code, stderr)
	}
	if code == 5 || strings.Contains(stderr, "bad volume") {
		t.Errorf("bench --workers 64 under ulimit -n 64: exit %d, stderr %q; want not exit 5 / bad volume (the volume is fine: the bench ran out of descriptors)", code, stderr)
	}
	if r := v.run(t, "", "read", "x"); r.code != 0 {
		t.Errorf("volume after: read exit %d: %s", r.code, r.stderr)
	}
}

// --ops is the number of operations of each case, also when --workers is
// larger than --ops or does not divide it.
func TestBenchOpsPerCase(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, a := range [][2]string{{"3", "10"}, {"50", "4"}} {
		r := v.run(t, "", "bench", "--json", "--ops", a[0], "--workers", a[1])
		if r.code != 0 {
			t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
		}
		rep := parseBenchJSON(t, r.stdout)
		for _, c := range rep.Cases {
			if want := a[0]; strconv.Itoa(c.Ops) != want {
				t.Errorf("--ops %s --workers %s: case %q ran %d ops; want %s", a[0], a[1], c.Name, c.Ops, want)
			}
		}
	}
}
