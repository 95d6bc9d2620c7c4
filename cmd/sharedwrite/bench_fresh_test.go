package main

import (
	"path/filepath"
	"testing"
)

// A bench on a root that holds no volume yet leaves the root as it found it,
// as its help says (it writes under a sharedwrite-bench-* directory and
// removes it), and still reports the root it was given. It used to make the
// root a local-mode volume for good (.sharedwrite/config: mode=local), so that
// init-volume for Redis mode then failed with a mode mismatch (exit 5).
// TestBenchSignals checks the same after a signal (noNewEntries).
func TestBenchFreshRootLeftAsFound(t *testing.T) {
	root := t.TempDir()
	r := runCLI(t, nil, "", "--root", root, "bench", "--json", "--ops", "3")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	rep := parseBenchJSON(t, r.stdout)
	if abs, _ := filepath.Abs(root); rep.Root != abs || rep.Mode != "local" {
		t.Errorf("report: root %q, mode %q; want %q, local", rep.Root, rep.Mode, abs)
	}
	if left := treeOf(t, root); len(left) > 0 {
		t.Errorf("bench left %q in a root that held nothing", left)
	}
	if redisSrv == nil {
		return
	}
	if r := runCLI(t, nil, "", "--root", root, "--redis", redisSrv.URL(), "init-volume"); r.code != 0 {
		t.Errorf("init-volume after a bench: exit %d: %s; want 0 (the bench must not have chosen the volume's mode)", r.code, r.stderr)
	}
}
