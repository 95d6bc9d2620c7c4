package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestAppendStopsAtFailedBatch: on a 64 KiB tmpfs, a 200 KiB line between
// small ones fails its batch with ENOSPC. append must commit no line after
// it (no gap), exit non-zero, and report exactly how many lines it
// committed; the next append drops the failed batch's unacknowledged tail,
// so the file then holds exactly that many lines and the next one.
func TestAppendStopsAtFailedBatch(t *testing.T) {
	root := testrig.Tmpfs(t, "64k")
	v := volume{mode: mode{name: "local"}, root: root}

	var in strings.Builder
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf("before %d", i))
	}
	lines = append(lines, strings.Repeat("x", 200<<10))
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("after %d", i))
	}
	for _, l := range lines {
		in.WriteString(l + "\n")
	}
	// Every line is read long before the first batch closes (--max-delay),
	// so the lines after the big one wait queued when its batch fails.
	r := v.run(t, in.String(), "--timeout", "10s", "append", "app.log", "--max-batch-bytes", "4096", "--max-delay", "100ms")
	if r.code == 0 {
		t.Fatalf("append: exit 0; want a failure (ENOSPC); stderr %s", r.stderr)
	}
	m := regexp.MustCompile(`(\d+) lines committed`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("stderr %q; want it to say how many lines were committed", r.stderr)
	}
	if !strings.Contains(r.stderr, "not committed") {
		t.Errorf("stderr %q; want it to say that the lines after those were not committed", r.stderr)
	}
	n, _ := strconv.Atoi(m[1])
	if n != 5 {
		t.Errorf("reported %d lines committed; want 5 (the lines before the one that cannot fit)", n)
	}

	if r := v.run(t, "next\n", "append", "app.log"); r.code != 0 {
		t.Fatalf("append after the failure: exit %d: %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(lines[:min(n, len(lines))], "\n") + "\nnext\n"
	if string(got) != want {
		t.Errorf("app.log holds %d bytes %.200q...; want the %d reported lines then %q (%d bytes)", len(got), got, n, "next", len(want))
	}
}
