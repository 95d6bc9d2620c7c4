//go:build linux

package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestRotateGzipOnAFullVolumeSaysTheRotationWasMade: `rotate --gzip` whose
// compression does not fit rotates all the same (the rotation comes first)
// and fails (exit 1, ENOSPC), saying that it rotated and that the rotated
// file stays plain. Before, the message named only the failed compression,
// as if nothing had been done, while the live log had been emptied.
func TestRotateGzipOnAFullVolumeSaysTheRotationWasMade(t *testing.T) {
	root := testrig.Tmpfs(t, "128k")
	v := volume{mode: mode{name: "local"}, root: root}
	var log strings.Builder
	for i := range 100 {
		// Random: the compressed file must not fit in the page left.
		fmt.Fprintf(&log, "%03d %x\n", i, rand.Int64())
		for range 6 {
			fmt.Fprintf(&log, "%x", rand.Uint64())
		}
		log.WriteString("\n")
	}
	if r := v.run(t, log.String(), "append", "app.log"); r.code != 0 {
		t.Fatalf("append: exit %d: %s", r.code, r.stderr)
	}
	testrig.Fill(t, root, 1)
	r := v.run(t, "", "rotate", "app.log", "--gzip")
	rotated := strings.TrimSpace(r.stdout)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Fatalf("rotate --gzip on a full volume: exit %d, %q; want 1 naming ENOSPC (the compression does not fit)", r.code, r.stderr)
	}
	if rotated == "" || !strings.Contains(r.stderr, "rotated to "+rotated) || !strings.Contains(r.stderr, "plain") {
		t.Errorf("stdout %q, stderr %q; want the rotated name printed and the message to say it rotated there and the file stays plain", rotated, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(root, strings.Trim(rotated, `"`)))
	if err != nil || string(got) != log.String() {
		t.Errorf("the rotated file %s: %d bytes, %v; want the whole log", rotated, len(got), err)
	}
	if live, err := os.ReadFile(filepath.Join(root, "app.log")); err != nil || len(live) != 0 {
		t.Errorf("the live log: %q, %v; want it empty (rotated)", live, err)
	}
	es, _ := os.ReadDir(root)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".gz") || strings.Contains(e.Name(), ".sw.") {
			t.Errorf("left %s", e.Name())
		}
	}
}

// TestCleanCountsAFailureToListIntents: a clean that runs out of descriptors
// before it can list .sharedwrite/tx sweeps nothing and says so: exit 1 and
// "1 failed" in its summary. Before, the summary said "0 failed".
func TestCleanCountsAFailureToListIntents(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	seen := false
	for n := 8; n <= 14; n++ {
		cmd := exec.Command("sh", append([]string{"-c", "ulimit -n " + strconv.Itoa(n) + ` && exec "$0" "$@"`, swBin}, v.args("clean")...)...)
		cmd.Env = baseEnv()
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if !strings.Contains(errb.String(), `sweep list ".sharedwrite/tx"`) {
			continue
		}
		seen = true
		if ee == nil || ee.ExitCode() != 1 || !strings.Contains(out.String(), " 1 failed") {
			t.Errorf("ulimit -n %d: %v, stdout %q, stderr %q; want exit 1 and a summary with 1 failed", n, err, out.String(), errb.String())
		}
	}
	if !seen {
		t.Fatal("no limit tried stopped clean at the listing of .sharedwrite/tx: nothing was checked")
	}
}
