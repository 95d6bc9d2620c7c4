package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// The tests run the real CLI: built once (without -race: the processes are the
// subject, not the test binary) and started as separate processes against one
// redis-server shared by the package. Every test uses its own root, so its own
// volume id and Redis keys.
var (
	swBin    string
	redisSrv *testrig.Redis
	redisErr error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sharedwrite-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if swBin, err = testrig.BuildCLI(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Mkdir(filepath.Join(dir, "redis"), 0o700); err == nil {
		redisSrv, redisErr = testrig.LaunchRedis(filepath.Join(dir, "redis"))
	}
	if redisSrv != nil {
		defer redisSrv.Kill()
	}
	return m.Run()
}

// needRedis returns the package's redis-server, or skips (fails under
// SHAREDWRITE_REQUIRE_RIGS=1).
func needRedis(t *testing.T) *testrig.Redis {
	t.Helper()
	if redisSrv == nil {
		testrig.Unavailable(t, fmt.Sprintf("redis-server: %v", redisErr))
	}
	return redisSrv
}

// baseEnv is the test's environment without any SHAREDWRITE_ variable.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHAREDWRITE_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// mode is local mode or Redis mode on one root.
type mode struct {
	name  string
	redis string // the URL, "" in local mode
}

// modes returns local mode and, when redis-server is available, Redis mode.
func modes(t *testing.T) []mode {
	ms := []mode{{name: "local"}}
	if redisSrv != nil {
		ms = append(ms, mode{name: "redis", redis: redisSrv.URL()})
	} else {
		t.Logf("Redis mode not run: %v", redisErr)
		if testrig.Required() {
			t.Fatalf("redis-server required: %v", redisErr)
		}
	}
	return ms
}

// volume is a root prepared for a mode (initialised for Redis mode).
type volume struct {
	mode
	root string
}

func newVolume(t *testing.T, m mode) volume {
	t.Helper()
	v := volume{mode: m, root: t.TempDir()}
	if m.redis != "" {
		if r := v.run(t, "", "init-volume"); r.code != 0 {
			t.Fatalf("init-volume: exit %d: %s", r.code, r.stderr)
		}
	}
	return v
}

// args prefixes the global flags of the volume.
func (v volume) args(args ...string) []string {
	a := []string{"--root", v.root}
	if v.redis != "" {
		a = append(a, "--redis", v.redis)
	}
	return append(a, args...)
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// run runs the CLI on the volume and waits for it.
func (v volume) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, nil, stdin, v.args(args...)...)
}

func runCLI(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, swBin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run sharedwrite %q: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// started is a CLI process running in the background.
type started struct {
	cmd       *exec.Cmd
	out, errb testrig.SyncBuffer
	done      chan struct{}
	code      int
}

func (v volume) start(t *testing.T, args ...string) *started {
	t.Helper()
	return v.startIn(t, "", args...)
}

// startIn is start with stdin as the process's stdin ("": /dev/null).
func (v volume) startIn(t *testing.T, stdin string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(swBin, v.args(args...)...)
	cmd.Env = baseEnv()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return startCmd(t, cmd)
}

// startCmd starts cmd (a sharedwrite command line) in the background, its
// stdout and stderr into the started buffers unless cmd has its own.
func startCmd(t *testing.T, cmd *exec.Cmd) *started {
	t.Helper()
	s := &started{cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &s.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &s.errb
	}
	// Its own process group, so cleanup also ends the commands it runs.
	testrig.OwnGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sharedwrite: %v", err)
	}
	go func() {
		cmd.Wait()
		s.code = cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	testrig.KillGroupOnCleanup(t, cmd, s.done)
	return s
}

// wait waits for the process within d and returns its exit code.
func (s *started) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(d):
		t.Fatalf("sharedwrite %q still running after %v; stderr: %s", s.cmd.Args, d, s.errb.String())
		return -1
	}
}

func (s *started) running() bool { return isOpen(s.done) }

// isOpen reports whether ch is still open (nothing has closed it).
func isOpen(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// waitForFile waits until path exists.
func waitForFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	waitStat(t, path, d, "exist", func(os.FileInfo) bool { return true })
}

// waitStat waits until path exists and ok accepts its os.Stat (want says
// what that means, for the failure).
func waitStat(t *testing.T, path string, d time.Duration, want string, ok func(os.FileInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		fi, err := os.Stat(path)
		if err == nil && ok(fi) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not %s after %v: %v", path, want, d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leftovers lists files in dir whose names look like sharedwrite temps.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".sw.") {
			out = append(out, e.Name())
		}
	}
	return out
}
