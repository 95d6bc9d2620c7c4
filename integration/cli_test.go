package integration

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// vol is one root used through the CLI, in local mode (redis "") or Redis mode.
type vol struct {
	root  string
	redis string
	// extra global flags (--lease-ttl, --timeout, --log-level, ...).
	flags []string
	// env is added to the CLI's environment.
	env []string
}

// newVol returns a vol on root; in Redis mode the volume is initialised.
func newVol(t *testing.T, root, redisURL string, flags ...string) vol {
	t.Helper()
	v := vol{root: root, redis: redisURL, flags: flags}
	if redisURL != "" {
		if r := v.run(t, "", "init-volume"); r.code != 0 {
			t.Fatalf("init-volume on %s: exit %d: %s", root, r.code, r.stderr)
		}
	}
	return v
}

// on returns the same volume seen through another root (another mount of it).
func (v vol) on(root string) vol {
	v.root = root
	return v
}

func (v vol) with(flags ...string) vol {
	v.flags = append(append([]string(nil), v.flags...), flags...)
	return v
}

func (v vol) args(args ...string) []string {
	a := []string{"--root", v.root}
	if v.redis != "" {
		a = append(a, "--redis", v.redis)
	}
	a = append(a, v.flags...)
	return append(a, args...)
}

// cliEnv is the test's environment without SHAREDWRITE_ or OTEL_ variables.
func cliEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHAREDWRITE_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type result struct {
	code           int
	stdout, stderr string
	start, end     time.Time
}

func (r result) took() time.Duration { return r.end.Sub(r.start) }

// run runs the CLI on the volume with stdin and waits (at most 3 minutes).
func (v vol) run(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	return runArgs(t, v.env, stdin, v.args(args...)...)
}

// runArgs runs the CLI with exactly args.
func runArgs(t testing.TB, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, swBin, args...)
	cmd.Env = cliEnv(env)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	testrig.OwnGroup(cmd)
	cmd.Cancel = func() error { return testrig.KillGroup(cmd.Process.Pid) }
	r := result{start: time.Now()}
	err := cmd.Run()
	r.end = time.Now()
	r.stdout, r.stderr = out.String(), errb.String()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("run sharedwrite %q: %v", args, err)
			r.code = -1
			return r
		}
		r.code = ee.ExitCode()
		if r.code < 0 {
			r.code = -int(ee.Sys().(syscall.WaitStatus).Signal())
		}
	}
	return r
}

// proc is a CLI process running in the background, in its own process group.
type proc struct {
	cmd       *exec.Cmd
	out, errb testrig.SyncBuffer
	done      chan struct{}
	code      int // exit code; -signal when killed
	start     time.Time
	end       time.Time
}

// start starts the CLI on the volume; the process group is killed on cleanup
// if still running.
func (v vol) start(t testing.TB, stdin []byte, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(swBin, v.args(args...)...)
	p.cmd.Env = cliEnv(v.env)
	p.cmd.Stdin = bytes.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	testrig.OwnGroup(p.cmd)
	p.cmd.WaitDelay = 5 * time.Second
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sharedwrite: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.end = time.Now()
		ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			p.code = -int(ws.Signal())
		} else {
			p.code = ws.ExitStatus()
		}
		close(p.done)
	}()
	testrig.KillGroupOnCleanup(t, p.cmd, p.done, cleanupSignals...)
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait waits for the process within d and returns its exit code.
func (p *proc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("sharedwrite %q still running after %v; stderr: %s", p.cmd.Args, d, p.errb.String())
		return -1
	}
}

// kill sends SIGKILL to the process group (the CLI and the command it runs).
func (p *proc) kill() {
	testrig.KillGroup(p.cmd.Process.Pid)
	<-p.done
}

// waitFor waits until cond is true, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// temps lists the sharedwrite temp files under dir (the volume's own
// .sharedwrite directory excluded).
func temps(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".sharedwrite" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".sw.") && strings.HasSuffix(d.Name(), ".tmp") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list temps under %s: %v", dir, err)
	}
	return out
}

// floorRaises counts the CLI's log lines saying that a token Redis handed out
// again was raised past the volume's floor (one per floor and token: a raise
// may be logged at two levels), and checks that each raised token is above
// the floor it names.
func floorRaises(t testing.TB, stderr string) int {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "fencing token raised past the volume's floor") {
			continue
		}
		m := raiseLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("floor raise logged without floor and token: %q", line)
			continue
		}
		seen[m[0]] = true
		floor, _ := strconv.ParseUint(m[1], 10, 64)
		token, _ := strconv.ParseUint(m[2], 10, 64)
		if token <= floor {
			t.Errorf("floor raise to token %d, not past the floor %d: %q", token, floor, line)
		}
	}
	return len(seen)
}

var raiseLine = regexp.MustCompile(`floor=(\d+) token=(\d+)`)
