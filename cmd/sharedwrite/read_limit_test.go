package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxReadSize: read, update and init refuse a file larger than
// --max-read-size (exit 1, naming the file and the limit): update runs no
// command and changes nothing. At the limit they work; a negative value is a
// usage error.
func TestMaxReadSize(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	content := strings.Repeat("x", 100)
	if r := v.run(t, content, "write", "big"); r.code != 0 {
		t.Fatalf("write big: exit %d: %s", r.code, r.stderr)
	}

	r := v.run(t, "", "--max-read-size", "99", "read", "big")
	if r.code != 1 || !strings.Contains(r.stderr, `"big"`) || !strings.Contains(r.stderr, "read limit of 99 bytes") || r.stdout != "" {
		t.Errorf("read with --max-read-size 99 on 100 bytes: exit %d, stdout %d bytes, stderr %q; want exit 1, no output, a message naming \"big\" and the limit", r.code, len(r.stdout), r.stderr)
	}
	if r := v.run(t, "", "read", "big", "--max-read-size", "100"); r.code != 0 || r.stdout != content {
		t.Errorf("read with --max-read-size 100 on 100 bytes: exit %d, stdout %d bytes, stderr %q; want exit 0 and the 100 bytes", r.code, len(r.stdout), r.stderr)
	}

	marker := filepath.Join(t.TempDir(), "ran")
	r = v.run(t, "", "--max-read-size", "99", "update", "big", "--", "sh", "-c", `touch "$0"; echo new`, marker)
	if r.code != 1 || !strings.Contains(r.stderr, `"big"`) || !strings.Contains(r.stderr, "read limit of 99 bytes") {
		t.Errorf("update with --max-read-size 99 on 100 bytes: exit %d, stderr %q; want exit 1 naming \"big\" and the limit", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("update ran its command on a file over --max-read-size")
	}
	if got := readAll(t, filepath.Join(v.root, "big")); got != content {
		t.Errorf("after the refused update the file is %q; want the 100 bytes it had", got)
	}
	if l := leftovers(t, v.root); len(l) > 0 {
		t.Errorf("the refused update left temps %v", l)
	}

	r = v.run(t, "", "--max-read-size", "99", "init", "big", "--", "sh", "-c", `touch "$0"; echo new`, marker)
	if r.code != 1 || !strings.Contains(r.stderr, `"big"`) {
		t.Errorf("init with --max-read-size 99 on an existing 100 bytes: exit %d, stderr %q; want exit 1 naming \"big\"", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("init ran its command on an existing file over --max-read-size")
	}

	if r := v.run(t, "", "--max-read-size", "-1", "read", "big"); r.code != 2 || !strings.Contains(r.stderr, "--max-read-size") {
		t.Errorf("read with --max-read-size -1: exit %d, stderr %q; want 2 (usage) naming the flag", r.code, r.stderr)
	}
}
