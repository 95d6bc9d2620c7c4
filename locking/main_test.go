package locking

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// sharedRedis is one redis-server for the package's tests; tests that kill or
// restart a server start their own.
var sharedRedis *testrig.Redis

const helperEnv = "SHAREDWRITE_LOCKING_HELPER"

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	dir, err := os.MkdirTemp("", "locking-redis-")
	if err == nil {
		sharedRedis, err = testrig.LaunchRedis(dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "locking tests: no shared redis-server: %v\n", err)
		sharedRedis = nil
	}
	code := m.Run()
	if sharedRedis != nil {
		sharedRedis.Kill()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func runHelper(name string) int {
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
		return 2
	}
	if err := h(); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return 1
	}
	return 0
}

// helpers run in a re-executed test binary (see startHelper). Each reads its
// parameters from the environment and reports on stdout.
var helpers = map[string]func() error{}

// needRedis returns the shared server, or skips (fails when rigs are required).
func needRedis(t testing.TB) *testrig.Redis {
	t.Helper()
	if sharedRedis == nil {
		testrig.Unavailable(t, "redis-server not available")
	}
	return sharedRedis
}

// testClient returns a client with retries off, as NewClient makes them.
func testClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// uniqueVolume gives each test its own key space on the shared server.
func uniqueVolume(t testing.TB) string {
	return fmt.Sprintf("vol-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

// helperProc is a re-executed test binary running one helper.
type helperProc struct {
	cmd   *exec.Cmd
	out   *bufio.Reader
	in    io.WriteCloser
	lines chan string
}

// startHelper runs helper name in a new process of the test binary with env
// (KEY=VALUE) added. Its stdout lines arrive on lines; it is killed on cleanup.
func startHelper(t testing.TB, name string, env ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), helperEnv+"="+name), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", name, err)
	}
	p := &helperProc{cmd: cmd, out: bufio.NewReader(out), in: in, lines: make(chan string, 100)}
	go func() {
		defer close(p.lines)
		for {
			l, err := p.out.ReadString('\n')
			if l != "" {
				p.lines <- strings.TrimRight(l, "\n")
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// expect waits for the next line and checks its prefix.
func (p *helperProc) expect(t testing.TB, prefix string, within time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("helper exited; want a line starting %q", prefix)
		}
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("helper said %q; want a line starting %q", l, prefix)
		}
		return l
	case <-time.After(within):
		t.Fatalf("no line from helper within %v; want %q", within, prefix)
	}
	return ""
}

func (p *helperProc) send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatalf("write to helper: %v", err)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
