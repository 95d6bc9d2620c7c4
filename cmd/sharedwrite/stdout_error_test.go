package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportToFullStdoutFails: a command whose report cannot be written to
// stdout (here /dev/full: ENOSPC) fails with exit 1 and a message naming the
// write to stdout, instead of exiting 0 with nothing delivered.
func TestReportToFullStdoutFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("/dev/full: %v", err)
	}
	defer full.Close()
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "one\ntwo\n", "append", "app.log"); r.code != 0 {
		t.Fatalf("append: exit %d: %s", r.code, r.stderr)
	}
	if r := v.run(t, "x\n", "write", "cfg"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"doctor"}, {"doctor", "--json"}, {"version"}, {"clean"},
		{"rotate", "app.log"}, {"repair-record", "cfg"}, {"read", "cfg"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(swBin, v.args(args...)...)
			cmd.Env = baseEnv()
			cmd.Stdout = full
			var errb strings.Builder
			cmd.Stderr = &errb
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != 1 || !strings.Contains(errb.String(), "write to stdout") {
				t.Errorf("exit %d, stderr %q; want 1 naming the write to stdout", code, errb.String())
			}
		})
	}
	// The rotation itself committed: its report is what failed.
	if m, _ := filepath.Glob(filepath.Join(v.root, "app.log.*")); len(m) != 1 {
		t.Errorf("rotated files %q; want one", m)
	}
}
