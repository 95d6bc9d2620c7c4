package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zeros is an input that never ends.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestInitFromStdinPastMaxReadSizeIsRefused: `init NAME --from -` holds its
// input in memory, so an input longer than --max-read-size is refused as
// soon as it passes the limit (exit 1, naming the limit and EFBIG), not
// read on until memory or --timeout runs out; nothing is created.
func TestInitFromStdinPastMaxReadSizeIsRefused(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	cmd := exec.Command(swBin, v.args("--timeout", "2s", "--max-read-size", "65536", "init", "f", "--from", "-")...)
	cmd.Env = baseEnv()
	cmd.Stdin = io.Reader(zeros{})
	s := startCmd(t, cmd)
	code := s.wait(t, 20*time.Second)
	stderr := s.errb.String()
	if code != 1 || !strings.Contains(stderr, "--max-read-size") || !strings.Contains(stderr, "file too large") || !strings.Contains(stderr, `"f"`) {
		t.Errorf("init --from an endless stdin with --max-read-size 65536: exit %d, stderr %q; want exit 1 naming \"f\", --max-read-size and EFBIG", code, stderr)
	}
	if s.out.String() != "" {
		t.Errorf("stdout %d bytes; want none", len(s.out.String()))
	}
	if _, err := os.Lstat(filepath.Join(v.root, "f")); err == nil {
		t.Error("f was created")
	}
	if l := leftovers(t, v.root); len(l) > 0 {
		t.Errorf("left behind: %q", l)
	}
}

// TestInitFromFileAtMaxReadSizeIsAccepted: an input of exactly
// --max-read-size bytes is within the limit.
func TestInitFromFileAtMaxReadSizeIsAccepted(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	src := filepath.Join(t.TempDir(), "src")
	content := strings.Repeat("y", 4096)
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r := v.run(t, "", "--max-read-size", "4096", "init", "f", "--from", src)
	if r.code != 0 || r.stdout != content {
		t.Errorf("init --from a file of 4096 bytes with --max-read-size 4096: exit %d, stdout %d bytes, stderr %q; want exit 0 and the content", r.code, len(r.stdout), r.stderr)
	}
	r = v.run(t, "", "--max-read-size", "4095", "init", "g", "--from", src)
	if r.code != 1 || !strings.Contains(r.stderr, "4095") || !strings.Contains(r.stderr, `"g"`) {
		t.Errorf("init --from a file of 4096 bytes with --max-read-size 4095: exit %d, stderr %q; want exit 1 naming \"g\" and the limit", r.code, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(v.root, "g")); err == nil {
		t.Error("g was created")
	}
}
