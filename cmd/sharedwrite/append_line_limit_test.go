package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAppendLineLongerThanMaxReadSizeIsRefused: append holds each line of
// stdin in memory until it is committed, so a line longer than
// --max-read-size (binary input with no newline, /dev/zero) is refused once
// it passes the limit rather than read on until memory runs out: the lines
// before it are committed, append exits 1 saying how many and naming the
// limit and EFBIG, and nothing of the long line reaches the log.
func TestAppendLineLongerThanMaxReadSizeIsRefused(t *testing.T) {
	for _, tail := range []string{"", "\n", "\nlater\n"} {
		t.Run("tail="+strings.ReplaceAll(tail, "\n", `\n`), func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			stdin := "one\ntwo\n" + strings.Repeat("x", 1<<20) + tail
			r := v.run(t, stdin, "--max-read-size", "65536", "append", "log")
			if r.code != 1 || !strings.Contains(r.stderr, "2 lines committed") || !strings.Contains(r.stderr, "--max-read-size") || !strings.Contains(r.stderr, "file too large") {
				t.Errorf("append of a 1 MiB line with --max-read-size 65536: exit %d, stderr %q; want exit 1, 2 lines committed, naming --max-read-size and EFBIG", r.code, r.stderr)
			}
			if got := readAll(t, filepath.Join(v.root, "log")); got != "one\ntwo\n" {
				t.Errorf("log holds %d bytes (%.20q...); want %q", len(got), got, "one\ntwo\n")
			}
		})
	}
}

// TestAppendLineAtMaxReadSizeIsCommitted: a line of exactly --max-read-size
// bytes, its newline included, is within the limit.
func TestAppendLineAtMaxReadSizeIsCommitted(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	line := strings.Repeat("y", 4095) + "\n"
	r := v.run(t, line+"z\n", "--max-read-size", "4096", "append", "log")
	if r.code != 0 {
		t.Fatalf("append of a 4096-byte line with --max-read-size 4096: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got := readAll(t, filepath.Join(v.root, "log")); got != line+"z\n" {
		t.Errorf("log holds %d bytes; want %d", len(got), len(line)+2)
	}
}
