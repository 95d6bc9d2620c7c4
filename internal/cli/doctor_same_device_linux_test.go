//go:build linux

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestDoctorSameDeviceOnlyWhenProbed: on a read-only root whose probe
// directory exists, the probe opens the directory but cannot write its first
// temp: no temp reached the target, so doctor --json must not report the temp
// and the target on the same device (it reported "same_device": true with
// "rounds": 0), and the text says the rename was not probed.
func TestDoctorSameDeviceOnlyWhenProbed(t *testing.T) {
	src, ro := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, filepath.FromSlash(doctorDir)), 0o770); err != nil {
		t.Fatal(err)
	}
	testrig.ReadOnlyBind(t, src, ro)
	root, err := os.OpenRoot(ro)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	p := probeFiles(root)
	if p.Rounds != 0 || len(p.ProbeErrors) == 0 || !strings.Contains(p.ProbeErrors[0], "read-only file system") {
		t.Fatalf("probe on a read-only root: rounds %d, errors %q; want 0 rounds, stopped by EROFS", p.Rounds, p.ProbeErrors)
	}
	// Its clean-up removes only what it made: not the target it never
	// renamed a temp onto.
	if len(p.ProbeErrors) != 1 {
		t.Errorf("probe on a read-only root: errors %q; want only the refused write", p.ProbeErrors)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["same_device"] == true {
		t.Errorf("doctor --json probe: same_device %v with rounds %v; want it not true, no temp having been renamed: %s", got["same_device"], got["rounds"], b)
	}

	rep := doctorReport{Root: ro, Mode: "local", LockScope: scopeHost, Probe: p}
	rep.judge(defaultLeaseTTL)
	var out bytes.Buffer
	if err := rep.print(&out); err != nil {
		t.Fatal(err)
	}
	line := ""
	for l := range strings.Lines(out.String()) {
		if strings.Contains(l, "temp + rename") {
			line = l
		}
	}
	if !strings.Contains(line, notProbed) {
		t.Errorf("doctor's temp + rename row: %q; want %q:\n%s", line, notProbed, out.String())
	}
	for _, p := range rep.Problems {
		if strings.Contains(p, "device") {
			t.Errorf("doctor reports %q, which it never probed", p)
		}
	}
}
