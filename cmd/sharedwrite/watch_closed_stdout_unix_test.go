//go:build unix

package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestWatchClosedStdoutFailsAtOnce: README: "a closed stdout fails read,
// init, watch and doctor (exit 1) instead of printing into nothing". A watch
// that prints events, started with stdout closed, fails at once (exit 1,
// naming stdout and EBADF), not at the first new version, which may never
// come. With -- CMD nothing is printed: CMD is run with the descriptor as it
// was left, as lock runs its command.
func TestWatchClosedStdoutFailsAtOnce(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "v0\n", "write", "cfg"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	start := func(ctx context.Context, args ...string) (*exec.Cmd, *testrig.SyncBuffer) {
		cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `exec "$0" "$@" >&-`, swBin}, v.args(args...)...)...)
		cmd.Env = baseEnv()
		errb := &testrig.SyncBuffer{}
		cmd.Stderr = errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, errb
	}

	for _, args := range [][]string{{"watch", "cfg"}, {"watch", "cfg", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd, errb := start(ctx, args...)
			err := cmd.Wait()
			var ee *exec.ExitError
			if ctx.Err() != nil {
				t.Fatalf("%s with stdout closed still running after 20s with no version to print; want exit 1 at once; stderr: %s", args, errb.String())
			}
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "stdout") || !strings.Contains(errb.String(), "bad file descriptor") {
				t.Errorf("%s with stdout closed: %v, stderr %q; want exit 1 naming stdout and EBADF", args, err, errb.String())
			}
		})
	}

	t.Run("watch -- CMD", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		mark := filepath.Join(t.TempDir(), "ran")
		cmd, errb := start(ctx, "watch", "cfg", "--initial", "--", "sh", "-c", `cat >/dev/null; touch "$0"`, mark)
		waitForFile(t, mark, 20*time.Second)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("watch -- CMD with stdout closed, after SIGTERM: %v; want exit 0; stderr: %s", err, errb.String())
		}
	})
}
