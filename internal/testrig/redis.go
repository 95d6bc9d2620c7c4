package testrig

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is one redis-server process started by a test, without persistence
// (no RDB snapshots, no AOF), listening on a free loopback port and a unix socket.
type Redis struct {
	Port   int
	Socket string
	Dir    string
	// Password is the --requirepass value the server was started with, or "".
	Password string
	args     []string
	// ready, when set, replaces the PING check after a start (TLS servers).
	ready func() error

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Addr is the loopback TCP address, host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// URL is a redis:// URL for the TCP address.
func (r *Redis) URL() string { return "redis://" + r.Addr() }

// SocketURL is a unix:// URL for the socket.
func (r *Redis) SocketURL() string { return "unix://" + r.Socket }

// PID is the server's process id, or 0 when it is not running.
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Client returns a go-redis client for the server, closed on cleanup.
func (r *Redis) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: r.Password, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// StartRedis starts a redis-server for the test and kills it by pid on cleanup.
// extra arguments are appended to the command line.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	r, err := LaunchRedis(t.TempDir(), extra...)
	if err != nil {
		if _, lerr := exec.LookPath("redis-server"); lerr != nil {
			Unavailable(t, "redis-server not installed")
		}
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(r.Kill)
	return r
}

// LaunchRedis starts a redis-server in dir without a testing.TB, for a TestMain
// that shares one server across a package. The caller must Kill it. A
// "--requirepass P" among extra sets Password, and readiness is checked with it.
func LaunchRedis(dir string, extra ...string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, err
	}
	r := &Redis{Dir: dir, Socket: filepath.Join(dir, "r.sock")}
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--requirepass" {
			r.Password = extra[i+1]
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r.Port = port
	r.args = append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--unixsocket", r.Socket, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--loglevel", "warning",
	}, extra...)
	if err := r.Start(); err != nil {
		return nil, err
	}
	return r, nil
}

// Start (re)starts the server with its original arguments and port, and waits
// until it answers PING. Without persistence a restarted server is empty.
func (r *Redis) Start() error {
	cmd := exec.Command("redis-server", r.args...)
	log, err := os.Create(filepath.Join(r.Dir, "redis.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	log.Close()
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	go cmd.Wait() //nolint:errcheck // reaped; exit status is irrelevant
	if r.ready != nil {
		return r.ready()
	}
	return waitRedis(r.Addr(), r.Password, 10*time.Second)
}

// Kill stops the server with SIGKILL (by the pid this rig started) and waits
// until its port no longer answers.
func (r *Redis) Kill() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.Addr(), 50*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart kills the server and starts it again on the same port, empty.
func (r *Redis) Restart() error {
	r.Kill()
	return r.Start()
}

// WaitRedis waits until addr answers PING with PONG.
func WaitRedis(addr string, within time.Duration) error {
	return waitRedis(addr, "", within)
}

func waitRedis(addr, password string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		c := redis.NewClient(&redis.Options{Addr: addr, Password: password, DisableIdentity: true, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		last = c.Ping(ctx).Err()
		cancel()
		c.Close()
		if last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis at %s did not answer PING within %v: %v", addr, within, last)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RedisLog returns the server's log, for failure messages.
func (r *Redis) RedisLog() string {
	f, err := os.Open(filepath.Join(r.Dir, "redis.log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	var b strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		b.WriteString(s.Text())
		b.WriteByte('\n')
	}
	return b.String()
}
