//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestWriteBusyTarget: a file bind-mounted onto the target (docker -v
// file:file) cannot be replaced by rename. write fails and says so, naming
// --in-place-if-busy; with it, it rewrites the file in place.
func TestWriteBusyTarget(t *testing.T) {
	testrig.NeedRoot(t)
	v := newVolume(t, mode{name: "local"})
	target := filepath.Join(v.root, "mounted.conf")
	src := filepath.Join(t.TempDir(), "host.conf")
	for _, p := range []string{target, src} {
		if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testrig.BindMount(t, src, target)

	r := v.run(t, "new\n", "write", "mounted.conf")
	if r.code == 0 || !strings.Contains(r.stderr, `"mounted.conf"`) || !strings.Contains(r.stderr, "--in-place-if-busy") {
		t.Errorf("write onto a bind-mounted file: exit %d, stderr %q; want a failure naming the file and --in-place-if-busy", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(src); string(b) != "old\n" {
		t.Errorf("after a refused write the file holds %q; want %q", b, "old\n")
	}
	r = v.run(t, "new\n", "write", "mounted.conf", "--in-place-if-busy")
	if r.code != 0 {
		t.Fatalf("write --in-place-if-busy: exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(src); string(b) != "new\n" {
		t.Errorf("after --in-place-if-busy the file holds %q; want %q", b, "new\n")
	}
}

// TestMoveCrossDevice: move from a tmpfs (another device) into the root
// copies, commits, and removes the source.
func TestMoveCrossDevice(t *testing.T) {
	testrig.NeedRoot(t)
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			spool := testrig.Tmpfs(t, "4m")
			src := filepath.Join(spool, "big.bin")
			data := []byte(strings.Repeat("0123456789abcdef", 128*1024)) // 2 MiB
			if err := os.WriteFile(src, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if r := v.run(t, "", "move", src, "in/big.bin"); r.code != 0 {
				t.Fatalf("move across devices: exit %d: %s", r.code, r.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(v.root, "in/big.bin")); err != nil || string(b) != string(data) {
				t.Errorf("moved file: %d bytes, %v; want the %d bytes of the source", len(b), err, len(data))
			}
			if _, err := os.Stat(src); !os.IsNotExist(err) {
				t.Errorf("source after move: stat error %v; want it removed", err)
			}
		})
	}
}
