package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotateReopenedLogTwice: `sharedwrite rotate` (no
// --copytruncate) from cron on the log of a program that reopens it after
// each rotation: the second rotation must rotate what the program wrote since
// the first.
func TestRotateReopenedLogTwice(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	live := filepath.Join(v.root, "prog.log")
	for i, line := range []string{"first\n", "second\n"} {
		f, err := os.OpenFile(live, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
		r := v.run(t, "", "rotate", "prog.log")
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("rotate #%d of a log holding %q: exit %d, printed %q, stderr %q; want the rotated name", i+1, line, r.code, r.stdout, r.stderr)
		}
		if got := readAll(t, filepath.Join(v.root, strings.Trim(strings.TrimSpace(r.stdout), `"`))); got != line {
			t.Errorf("rotate #%d: rotated file holds %q; want %q", i+1, got, line)
		}
	}
}

// TestAppendRotateAtLongName: `append --rotate-at` on a valid
// 240-byte name keeps committing lines once the file is over the limit.
func TestAppendRotateAtLongName(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	name := strings.Repeat("n", 240)
	for i := range 3 {
		r := v.run(t, "line\n", "append", name, "--rotate-at", "1")
		if r.code != 0 {
			t.Fatalf("append #%d: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
}
