//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// leftoverRun is a bench run record as bench writes it.
type leftoverRun struct {
	Host  string `json:"host"`
	Space string `json:"pid_space,omitempty"`
	PID   int    `json:"pid"`
	Start string `json:"start,omitempty"`
	Keys  int    `json:"keys"`
	Own   bool   `json:"own_volume,omitempty"`
}

// thisProcess is the record a bench would write for this process: its
// host, pid space (boot and pid namespace), pid and start time.
func thisProcess(t *testing.T) leftoverRun {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return leftoverRun{Host: host, Space: strings.TrimSpace(string(boot)) + "/" + ns, PID: os.Getpid(), Start: f[19], Keys: 4, Own: true}
}

// deadPID returns the pid of a process that has ended and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestBenchRemovesOnlyTheLeftoversOfRunsThatAreOver: a bench directory left
// on the root is removed by the next bench only when its run is certainly
// over: the lock on its record is free and, for a run of this host, no
// process has its pid or the one that has it started at another time (the
// pid was reused); for a run of another host, the volume's file locks reach
// every process that uses it (a local filesystem). A run whose process
// still runs, whose lock is held, whose host cannot be checked (a FUSE
// mount: its locks stay on each mount) or whose record is missing or
// unreadable is left as it is, the last three said on stderr.
func TestBenchRemovesOnlyTheLeftoversOfRunsThatAreOver(t *testing.T) {
	me := thisProcess(t)
	with := func(change func(r *leftoverRun)) *leftoverRun {
		r := me
		change(&r)
		return &r
	}
	for _, c := range []struct {
		name    string
		run     *leftoverRun // nil: no record
		raw     string       // the record's content, when run is nil
		fuse    bool         // the root is a FUSE mount (faultfs)
		hold    bool         // the test holds the record's lock
		removed bool
		says    string // what stderr says when the directory is kept
	}{
		{name: "this host, its process runs", run: with(func(*leftoverRun) {})},
		{name: "this host, its pid reused", run: with(func(r *leftoverRun) { r.Start = "1" }), removed: true},
		{name: "this host, its process gone", run: with(func(r *leftoverRun) { r.PID = deadPID(t) }), removed: true},
		{name: "this host, its process gone, its lock held", run: with(func(r *leftoverRun) { r.PID = deadPID(t) }), hold: true},
		{name: "another host, a local filesystem", run: with(func(r *leftoverRun) { r.Host = "another-host" }), removed: true},
		{name: "another pid space, a local filesystem", run: with(func(r *leftoverRun) { r.Space = "another-boot" }), removed: true},
		{name: "another host, a FUSE mount", run: with(func(r *leftoverRun) { r.Host = "another-host" }), fuse: true, says: "cannot be checked from here"},
		{name: "this host, its process gone, a FUSE mount", run: with(func(r *leftoverRun) { r.PID = deadPID(t) }), fuse: true, removed: true},
		{name: "no record", says: "has no run record"},
		{name: "a torn record", raw: `{"host":`, says: "cannot be read"},
		{name: "a record naming too many keys", run: with(func(r *leftoverRun) { r.PID, r.Keys = deadPID(t), 1000 }), says: "cannot be read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if c.fuse {
				root = faultfs.Mount(t, faultfs.Options{}).Dir
			}
			v := volume{mode: mode{name: "local"}, root: root}
			const dir = "sharedwrite-bench-0123abcd"
			d := filepath.Join(root, dir)
			if err := os.MkdirAll(filepath.Join(d, ".sharedwrite", "locks"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "coordinated"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			content := []byte(c.raw)
			if c.run != nil {
				var err error
				if content, err = json.Marshal(c.run); err != nil {
					t.Fatal(err)
				}
			}
			if c.run != nil || c.raw != "" {
				rec := filepath.Join(d, ".bench-run")
				if err := os.WriteFile(rec, content, 0o644); err != nil {
					t.Fatal(err)
				}
				if c.hold {
					f, err := os.OpenFile(rec, os.O_RDWR, 0)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { f.Close() })
					if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
						t.Fatal(err)
					}
				}
			}

			r := v.run(t, "", "bench", "--ops", "2")
			t.Logf("stderr: %s", r.stderr)
			if r.code != 0 {
				t.Errorf("bench: exit %d: %s", r.code, r.stderr)
			}
			_, err := os.Stat(filepath.Join(d, "coordinated"))
			said := strings.Contains(r.stderr, `removed "`+dir+`"`)
			switch {
			case c.removed && (err == nil || !said):
				t.Errorf("the leftover (record %s) is there: %v, or stderr %q does not say it was removed; want it removed", content, err == nil, r.stderr)
			case !c.removed && (err != nil || said):
				t.Errorf("the leftover (record %s) was removed (%v; stderr %q); want it left as it is", content, err, r.stderr)
			case !c.removed && c.says == "" && r.stderr != "":
				t.Errorf("stderr %q; want nothing said of a live run", r.stderr)
			case !c.removed && !strings.Contains(r.stderr, c.says) || c.says != "" && !strings.Contains(r.stderr, strconv.Quote(dir)):
				t.Errorf("stderr %q; want it to name %s and say %q", r.stderr, dir, c.says)
			}
		})
	}
}
