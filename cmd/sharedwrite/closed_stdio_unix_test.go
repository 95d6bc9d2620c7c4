//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runRedirected runs the CLI on the volume through sh with redir applied
// to it (`<&-` closes stdin, `>&-` stdout): the way a closed descriptor
// reaches a process, which exec.Cmd cannot arrange.
func (v volume) runRedirected(t *testing.T, redir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `exec "$0" "$@" ` + redir, swBin}, v.args(args...)...)...)
	cmd.Env = baseEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if !strings.Contains(redir, ">") {
		cmd.Stdout = &errb
	}
	err := cmd.Run()
	r := result{stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run sharedwrite %q %s: %v", args, redir, err)
	}
	return r
}

// TestClosedStdio: a stdin closed when the CLI starts is not empty input
// and a closed stdout is not a place to print to. The Go runtime opens
// /dev/null on a closed descriptor; without telling the two apart, `write`
// replaced the file with nothing and `read` printed into nothing, both with
// exit 0. Each now fails (exit 1, naming stdin or stdout and EBADF) and
// changes nothing, while an explicit </dev/null or >/dev/null still works
// and a command run by `lock` is started with the descriptor as it was left.
func TestClosedStdio(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			cfg := filepath.Join(v.root, "cfg")
			if r := v.run(t, "old\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			unchanged := func(what string) {
				t.Helper()
				if b, err := os.ReadFile(cfg); err != nil || string(b) != "old\n" {
					t.Errorf("%s: cfg holds %q (%v); want the old content", what, b, err)
				}
			}
			failed := func(what string, r result, stream string) {
				t.Helper()
				if r.code != 1 || !strings.Contains(r.stderr, stream) || !strings.Contains(r.stderr, "bad file descriptor") {
					t.Errorf("%s: exit %d, stderr %q; want exit 1 naming %s and EBADF", what, r.code, r.stderr, stream)
				}
			}

			failed("write with stdin closed", v.runRedirected(t, "<&-", "write", "cfg"), "stdin")
			unchanged("write with stdin closed")
			failed("append with stdin closed", v.runRedirected(t, "<&-", "append", "log"), "stdin")
			if b, err := os.ReadFile(filepath.Join(v.root, "log")); err == nil && len(b) > 0 {
				t.Errorf("append with stdin closed wrote %q", b)
			}
			failed("init --from - with stdin closed", v.runRedirected(t, "<&-", "init", "new", "--from", "-"), "stdin")
			if _, err := os.Lstat(filepath.Join(v.root, "new")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("init with stdin closed: new exists (%v)", err)
			}
			failed("read with stdout closed", v.runRedirected(t, ">&-", "read", "cfg"), "stdout")

			if r := v.runRedirected(t, ">/dev/null", "read", "cfg"); r.code != 0 {
				t.Errorf("read >/dev/null: exit %d: %s", r.code, r.stderr)
			}
			if r := v.runRedirected(t, "</dev/null", "lock", "k", "--", "sh", "-c", "cat && echo ran"); r.code != 0 || !strings.Contains(r.stderr, "ran") {
				t.Errorf("lock -- CMD </dev/null: exit %d, output %q; want 0 and ran", r.code, r.stderr)
			}
			if r := v.runRedirected(t, "<&-", "lock", "k", "--", "sh", "-c", "cat && echo ran"); r.code != 0 || !strings.Contains(r.stderr, "ran") {
				t.Errorf("lock -- CMD with stdin closed: exit %d, output %q; want 0 and ran (CMD reads /dev/null)", r.code, r.stderr)
			}
			if r := v.runRedirected(t, "</dev/null", "write", "cfg"); r.code != 0 {
				t.Errorf("write </dev/null: exit %d: %s", r.code, r.stderr)
			} else if b, err := os.ReadFile(cfg); err != nil || len(b) != 0 {
				t.Errorf("write </dev/null: cfg holds %q (%v); want it empty", b, err)
			}
		})
	}
}

// TestInitFromUnreadable: an init whose --from cannot be read fails with
// exit 1 naming it, not 8 (reserved for a command after "--" that failed),
// and creates nothing.
func TestInitFromUnreadable(t *testing.T) {
	v := newVolume(t, modes(t)[0])
	r := v.run(t, "", "init", "f", "--from", filepath.Join(t.TempDir(), "missing"))
	if r.code != 1 || !strings.Contains(r.stderr, "--from") || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("init --from a missing file: exit %d, stderr %q; want 1 naming --from and ENOENT", r.code, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(v.root, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("f exists after a failed init (%v)", err)
	}
}
