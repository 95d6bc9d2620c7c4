package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// edgeRun runs the CLI with stdout going to out (nil: a buffer) and kills it
// after limit. It reports the exit code, or -1 and the signal when a signal
// ended it.
type edgeResult struct {
	code   int
	signal syscall.Signal
	stdout string
	stderr string
	took   time.Duration
	killed bool // still running at limit
}

func edgeRun(t *testing.T, limit time.Duration, stdin string, out *os.File, args ...string) edgeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, swBin, args...)
	cmd.Env = baseEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var ob, eb bytes.Buffer
	if out != nil {
		cmd.Stdout = out
	} else {
		cmd.Stdout = &ob
	}
	cmd.Stderr = &eb
	start := time.Now()
	err := cmd.Run()
	r := edgeResult{stdout: ob.String(), stderr: eb.String(), took: time.Since(start), killed: ctx.Err() != nil}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		t.Fatalf("run sharedwrite %q: %v", args, err)
	}
	return r
}

// TestBenchRedisUnreachableExits6: DESIGN "Errors and exit codes": 6 Redis
// unreachable; README: --timeout is "a deadline for the lease, the lock,
// Redis ... (exit 3, or 6 when Redis refuses connections)". bench against a
// Redis that refuses connections must end within --timeout with exit 6 and
// never print the password, as every other command does.
func TestBenchRedisUnreachableExits6(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	port, err := testrig.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v.redis = fmt.Sprintf("redis://user:secret-bench-pw@127.0.0.1:%d/", port)
	for _, extra := range [][]string{{"--json"}} {
		t.Run(strings.Join(append([]string{"bench"}, extra...), " "), func(t *testing.T) {
			args := v.args(append([]string{"--timeout", "2s", "bench", "--ops", "2", "--workers", "1"}, extra...)...)
			r := edgeRun(t, 15*time.Second, "", nil, args...)
			if r.killed || r.code != 6 {
				t.Errorf("bench with Redis refusing connections, --timeout 2s: exit %d after %v (killed by the test at 15s: %v); want exit 6 within --timeout; stderr: %s",
					r.code, r.took.Round(time.Millisecond), r.killed, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "secret-bench-pw") {
				t.Errorf("bench printed the password: %s%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestClosedStdoutPipeExits1: internal/cli/output.go promises that a report
// that cannot be written to stdout ("a full disk, a closed pipe") fails the
// command with exit 1 and a message naming "write to stdout"; doctor leaves
// the volume as it found it. With stdout a pipe whose reader has gone (EPIPE),
// the CLI must not be killed by SIGPIPE (no message, no exit 1, doctor's
// probe directory left on the volume).
func TestClosedStdoutPipeExits1(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "content\n", "write", "cfg"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"doctor"}, {"doctor", "--json"}, {"version"}, {"read", "cfg"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			pr.Close() // the reader has gone: a write gets EPIPE
			defer pw.Close()
			r := edgeRun(t, 30*time.Second, "", pw, v.args(args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "write to stdout") {
				t.Errorf("stdout a closed pipe: exit %d (signal %v), stderr %q; want exit 1 naming the write to stdout", r.code, r.signal, r.stderr)
			}
			if args[0] == "doctor" {
				if _, err := os.Stat(filepath.Join(v.root, ".sharedwrite", "doctor")); !os.IsNotExist(err) {
					t.Errorf(".sharedwrite/doctor after doctor: stat error %v; want it removed (doctor leaves the volume as found)", err)
				}
			}
		})
	}
}

// TestModeSpecialBitsAreUsageErrors: --mode takes an octal permission from 0
// to 0777. A value with the setuid, setgid or sticky bit is refused as a
// usage error (exit 2) before anything is done: not silently dropped (write)
// nor a failure of the operation after stdin was read (exit 1, mkdir and
// append: "unsupported file mode").
func TestModeSpecialBitsAreUsageErrors(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	cases := []struct {
		args []string
		path string
		bit  os.FileMode
	}{
		{[]string{"write", "suid", "--mode", "4755"}, "suid", os.ModeSetuid},
		{[]string{"mkdir", "spool", "--mode", "1777"}, "spool", os.ModeSticky},
		{[]string{"append", "glog", "--mode", "2770"}, "glog", os.ModeSetgid},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := v.run(t, "line\n", c.args...)
			_, err := os.Lstat(filepath.Join(v.root, c.path))
			if r.code != 2 || !strings.Contains(r.stderr, "--mode") || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("exit %d, stderr %q, %s: %v; want a usage error (exit 2) naming --mode and nothing created (the %v bit is not set by sharedwrite)", r.code, r.stderr, c.path, err, c.bit)
			}
		})
	}
}

// TestRotatePrintsNameEscaped: DESIGN "Errors and exit codes": names
// are printed escaped (a newline in a file name must not forge a line).
// rotate prints the rotated file's name escaped, on one line.
func TestRotatePrintsNameEscaped(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	name := "logs\nFORGED LINE.log"
	if r := v.run(t, "a record\n", "append", name); r.code != 0 {
		t.Fatalf("append: exit %d: %s", r.code, r.stderr)
	}
	r := v.run(t, "", "rotate", name)
	if r.code != 0 {
		t.Fatalf("rotate: exit %d: %s", r.code, r.stderr)
	}
	if lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); len(lines) != 1 {
		t.Errorf("rotate printed %d lines for one rotated file: %q; want one line with the name escaped", len(lines), r.stdout)
	}
}

// TestDoctorNegativePeerWaitIsUsage: a negative doctor --peer-wait is a
// value the command cannot honour; like the negative values of
// TestNegativeFlagValuesAreUsageErrors it is a usage error (exit 2), not a
// "guarantee does not hold" verdict (exit 5) after a peer test that never
// waited.
func TestDoctorNegativePeerWaitIsUsage(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	r := v.run(t, "", "doctor", "--peer", "--peer-wait=-1s")
	if r.code != 2 || !strings.Contains(r.stderr, "--peer-wait") {
		t.Errorf("doctor --peer --peer-wait=-1s: exit %d, stderr %q; want 2 (usage) naming --peer-wait", r.code, r.stderr)
	}
}

// An empty --root is a usage error for every command (doctor probed the
// current directory while the others failed with exit 5), and version, which
// uses no volume and no Redis, runs whatever $SHAREDWRITE_REDIS holds.
func TestEmptyRootAndVersionFlags(t *testing.T) {
	for _, args := range [][]string{{"--root=", "doctor"}, {"--root=", "write", "f"}, {"--root=", "read", "f"}} {
		r := edgeRun(t, 30*time.Second, "x", nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "--root") {
			t.Errorf("%q: exit %d, stderr %q; want 2 (usage) naming --root", args, r.code, r.stderr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, swBin, "version")
	cmd.Env = append(baseEnv(), "SHAREDWRITE_REDIS=not a url")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "sharedwrite") {
		t.Errorf("version with a malformed $SHAREDWRITE_REDIS: %v, %q; want exit 0 and the version", err, out)
	}
}
