//go:build linux

package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// faultVolume is a local-mode volume on a fault filesystem, initialised
// before any fault is set.
func faultVolume(t *testing.T) (*faultfs.FS, volume) {
	t.Helper()
	f := faultfs.Mount(t, faultfs.Options{Locks: true})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	return f, v
}

// The bench directory (or a file in it) cannot be removed at the end: bench
// says so, naming it, rather than exit 0 in silence with the directory (and
// its files) left in the root.
func TestBenchCleanupFailureReportedFaultFS(t *testing.T) {
	for _, ft := range []faultfs.Fault{
		{Op: faultfs.OpRmdir, Errno: syscall.EBUSY, Glob: "sharedwrite-bench-*"},
		{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: "key-*"},
	} {
		t.Run(string(ft.Op), func(t *testing.T) {
			f, v := faultVolume(t)
			f.Set(ft)
			r := v.run(t, "", "bench", "--ops", "8")
			left := benchDirs(t, v.root)
			if len(left) > 0 && (r.code == 0 || !strings.Contains(r.stderr, "sharedwrite-bench-")) {
				t.Errorf("%s refused with %v: bench exit %d, stderr %q; left %q holding %q; want the failed clean-up reported, naming the directory", ft.Op, ft.Errno, r.code, r.stderr, left, treeOf(t, left[0]))
			}
		})
	}
}

// On a slow volume (every fsync 2.1 s) the table prints a rate under 0.5
// ops/s as it is, not as 0, so that the ratios below can be checked against
// it.
func TestBenchSlowVolumeFigures(t *testing.T) {
	f, v := faultVolume(t)
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Delay: 2100 * time.Millisecond})
	r := v.run(t, "", "bench", "--ops", "1", "--workers", "1")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	row := regexp.MustCompile(`(?m)^  (bare atomic write|coordinated write|contended.*?|distinct keys.*?)\s+(\d+)\s+(\S+)\s+\S+\s+\S+\s*$`)
	for _, m := range row.FindAllStringSubmatch(r.stdout, -1) {
		if ops, _ := strconv.Atoi(m[2]); ops > 0 {
			if x, _ := strconv.ParseFloat(m[3], 64); x == 0 {
				t.Errorf("case %q: %d ops, printed at %s ops/s", m[1], ops, m[3])
			}
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", r.stdout)
	}
}

// When the coordinated write is faster than the bare one (here the bare
// temp's fsync is slowed), the negative overhead is rounded as every other
// figure is.
func TestBenchNegativeOverheadRounded(t *testing.T) {
	f, v := faultVolume(t)
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: ".bare.*", Delay: 100 * time.Millisecond})
	r := v.run(t, "", "bench", "--ops", "3", "--workers", "1")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`coordination overhead \(p50\): (\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no overhead line:\n%s", r.stdout)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if d < 0 && d != d.Round(10*time.Microsecond) {
		t.Errorf("overhead printed as %s; want it rounded as the table's figures are (%s)\n%s", m[1], d.Round(10*time.Microsecond), r.stdout)
	}
}

// SIGINT stops a bench promptly also while a large payload is being written
// (64 MiB to a slow volume: every write request of the bare write's temp
// delayed 40 ms, seconds in all), and the bench removes its directory.
func TestBenchSignalDuringLargeWrite(t *testing.T) {
	f, v := faultVolume(t)
	f.Set(faultfs.Fault{Op: faultfs.OpWrite, Glob: ".bare.*", Delay: 40 * time.Millisecond})
	s := v.start(t, "bench", "--size", "67108864", "--ops", "2")
	t.Cleanup(func() { t.Logf("%d write requests", f.Count(faultfs.OpWrite)) })
	waitFor(t, s, func() bool {
		m, _ := filepath.Glob(filepath.Join(f.Backing, "sharedwrite-bench-*", ".bare.*"))
		return len(m) > 0
	}, "a bare write")
	time.Sleep(300 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGINT)
	sent := time.Now()
	code := s.wait(t, 2*time.Minute)
	took := time.Since(sent)
	if code != 130 {
		t.Errorf("exit %d; want 130; stderr %s", code, s.errb.String())
	}
	if took > 3*time.Second {
		t.Errorf("bench took %v to exit after SIGINT; want it prompt (a few seconds at most)", took.Round(time.Millisecond))
	}
	if d := benchDirs(t, v.root); len(d) > 0 {
		t.Errorf("bench directory left behind: %q", d)
	}
}
