package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppendRotationFlagsWithoutRotateAt: --keep, --max-age and --gzip
// without --rotate-at would do nothing; they are a usage error (exit 2)
// naming --rotate-at, and nothing is appended.
func TestAppendRotationFlagsWithoutRotateAt(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, flags := range [][]string{{"--keep", "3"}, {"--max-age", "1h"}, {"--gzip"}} {
		args := append([]string{"append", "app.log"}, flags...)
		r := v.run(t, "line\n", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "--rotate-at") {
			t.Errorf("append %s: exit %d, stderr %q; want 2 naming --rotate-at", strings.Join(flags, " "), r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(v.root, "app.log")); err == nil {
			t.Errorf("append %s: app.log was written", strings.Join(flags, " "))
		}
	}
	// With --rotate-at they are taken.
	if r := v.run(t, "line\n", "append", "app.log", "--rotate-at", "1000000", "--keep", "3", "--gzip"); r.code != 0 {
		t.Errorf("append --rotate-at --keep --gzip: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
}
