//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// readOnlyView bind-mounts v's root read-only on a new directory (as a
// consumer of shared config mounts it: `mount -o ro,bind`, a Kubernetes
// readOnly volume) and returns the volume seen through it.
func readOnlyView(t *testing.T, v volume) volume {
	t.Helper()
	ro := t.TempDir()
	testrig.ReadOnlyBind(t, v.root, ro)
	return volume{mode: v.mode, root: ro}
}

// A replica that mounts the volume read-only reads it: read, init of an
// existing file and watch work through the read-only view (the lock record is
// read without write access), and watch delivers a version written through
// the read-write path. Writes through the view still fail with EROFS.
func TestReadOnlyVolumeReads(t *testing.T) {
	testrig.NeedRoot(t)
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			rw := newVolume(t, m)
			if r := rw.run(t, "one\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write through the read-write path: exit %d: %s", r.code, r.stderr)
			}
			ro := readOnlyView(t, rw)

			if r := ro.run(t, "", "read", "cfg"); r.code != 0 || r.stdout != "one\n" {
				t.Errorf("read through the read-only view: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "one\n")
			}
			if r := ro.run(t, "generated\n", "init", "cfg", "--from", "-"); r.code != 0 || r.stdout != "one\n" {
				t.Errorf("init of an existing file through the read-only view: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "one\n")
			}
			r := ro.run(t, "", "read", "missing")
			if r.code != 1 || !strings.Contains(r.stderr, syscall.ENOENT.Error()) || strings.Contains(r.stderr, syscall.EROFS.Error()) {
				t.Errorf("read of a missing name through the read-only view: exit %d, stderr %q; want 1, naming ENOENT, not EROFS", r.code, r.stderr)
			}

			r = ro.run(t, "two\n", "write", "cfg")
			if r.code != 1 || !strings.Contains(r.stderr, syscall.EROFS.Error()) {
				t.Errorf("write through the read-only view: exit %d, stderr %q; want 1 naming %q", r.code, r.stderr, syscall.EROFS.Error())
			}
			if got, err := os.ReadFile(filepath.Join(rw.root, "cfg")); err != nil || string(got) != "one\n" {
				t.Errorf("cfg after the refused write: %q, %v; want %q", got, err, "one\n")
			}

			w := startWatch(t, ro, "cfg", "--initial", "--json")
			w.waitLine(t, 30*time.Second, "the initial version", func(l string) bool {
				return strings.Contains(l, shaHex([]byte("one\n")))
			})
			if r := rw.run(t, "two\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("second write through the read-write path: exit %d: %s", r.code, r.stderr)
			}
			w.waitLine(t, 30*time.Second, "the version written through the read-write path", func(l string) bool {
				return strings.Contains(l, shaHex([]byte("two\n")))
			})
			w.stop(t, syscall.SIGTERM)
			evs := parseEvents(t, w.got())
			if len(evs) != 2 || !evs[0].Initial || evs[1].Initial || evs[1].Token <= evs[0].Token {
				t.Errorf("watch through the read-only view delivered %+v; want the initial version, then a newer one", evs)
			}
		})
	}
}

// A read-only replica may start before any writer has written: the volume
// holds no lock file yet (in Redis mode, only what init-volume made). A name
// with no record reads as missing, and watch delivers the first version
// written through the read-write path.
func TestReadOnlyVolumeBeforeFirstWrite(t *testing.T) {
	testrig.NeedRoot(t)
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			rw := newVolume(t, m)
			if m.redis == "" {
				// Local mode publishes the volume's identity on first use:
				// a writer has used it, but written nothing yet.
				if r := rw.run(t, "", "read", "nothing"); r.code != 1 {
					t.Fatalf("read of a missing name through the read-write path: exit %d: %s", r.code, r.stderr)
				}
			}
			ro := readOnlyView(t, rw)

			r := ro.run(t, "", "read", "cfg")
			if r.code != 1 || !strings.Contains(r.stderr, syscall.ENOENT.Error()) {
				t.Errorf("read of a name never written, through the read-only view: exit %d, stderr %q; want 1 naming ENOENT", r.code, r.stderr)
			}
			// With --initial the version is delivered whether the watcher
			// started before the write or after it.
			w := startWatch(t, ro, "cfg", "--initial", "--json")
			time.Sleep(500 * time.Millisecond)
			if !isOpen(w.done) {
				t.Fatalf("watch through the read-only view exited (%d): %s", w.code, w.errb.String())
			}
			if r := rw.run(t, "first\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write through the read-write path: exit %d: %s", r.code, r.stderr)
			}
			w.waitLine(t, 30*time.Second, "the first version", func(l string) bool {
				return strings.Contains(l, shaHex([]byte("first\n")))
			})
			w.stop(t, syscall.SIGTERM)
			if r := ro.run(t, "", "read", "cfg"); r.code != 0 || r.stdout != "first\n" {
				t.Errorf("read through the read-only view after the first write: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "first\n")
			}
		})
	}
}
