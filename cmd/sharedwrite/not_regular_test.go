package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppendRotateNotRegularExitCode: append and rotate on a name that is a
// directory exit 5 (bad path: not a regular file), as write does.
func TestAppendRotateNotRegularExitCode(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if err := os.Mkdir(filepath.Join(v.root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := v.run(t, "x\n", "write", "dir"); r.code != 5 {
		t.Fatalf("write dir: exit %d; want 5 (the reference): %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"append", "dir"}, {"rotate", "dir"}, {"rotate", "dir", "--copytruncate"}} {
		r := v.run(t, "line\n", append([]string{"--timeout", "10s"}, args...)...)
		if r.code != 5 || !strings.Contains(r.stderr, `"dir"`) {
			t.Errorf("%s on a directory: exit %d, stderr %q; want 5 (not a regular file) naming the path", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
