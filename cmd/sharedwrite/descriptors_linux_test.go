//go:build linux

package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A process that runs out of descriptors while it opens the volume says so
// (EMFILE, exit 1): it does not call the volume bad (exit 5), which would
// send its user to repair a volume that is fine. Where the descriptors run out
// depends on the limit, so several are tried; the volume reads back intact.
func TestOutOfDescriptorsNotBadVolume(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	ran := 0
	for n := 6; n <= 14; n++ {
		args := append([]string{"-c", `ulimit -n ` + strconv.Itoa(n) + ` && exec "$0" "$@"`, swBin}, v.args("write", "x")...)
		cmd := exec.Command("sh", args...)
		cmd.Env = baseEnv()
		cmd.Stdin = strings.NewReader("y\n")
		var errb strings.Builder
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("ulimit -n %d: exit %d %s", n, code, strings.TrimSpace(errb.String()))
		if code == 5 || strings.Contains(errb.String(), "bad volume") {
			t.Errorf("ulimit -n %d: exit %d, %q; want exit 1 naming EMFILE, not a bad volume", n, code, errb.String())
		}
		if strings.Contains(errb.String(), "too many open files") {
			ran++
			if code != 1 {
				t.Errorf("ulimit -n %d: out of descriptors, exit %d; want 1", n, code)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no limit tried ran out of descriptors: nothing was checked")
	}
	if r := v.run(t, "", "read", "x"); r.code != 0 || (r.stdout != "x\n" && r.stdout != "y\n") {
		t.Errorf("read after: exit %d, %q: %s", r.code, r.stdout, r.stderr)
	}
}
