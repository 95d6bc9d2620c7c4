package testrig

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
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
	// tlsConf, when set, is the client configuration the readiness check
	// connects with (a TLS-only server).
	tlsConf *tls.Config

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
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

// Signal sends sig to the server this rig started, through its process
// handle: an error, and nothing sent, when it is not running (never the
// signal to a pid of 0, which is the caller's whole process group, or to a
// reused pid).
func (r *Redis) Signal(sig os.Signal) error {
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return errors.New("redis-server not running")
	}
	return cmd.Process.Signal(sig)
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
	err := r.startOnFreePort(func(port int) ([]string, error) {
		return append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--unixsocket", r.Socket, "--unixsocketperm", "700",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--daemonize", "no", "--loglevel", "warning",
		}, extra...), nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// errLostPort marks a start that lost its port: the server exited before it
// answered (its bind failed, most likely because another process took the port
// between FreePort and the bind), or a process other than the one started
// answers on the port.
var errLostPort = errors.New("redis-server did not get its port")

// startOnFreePort starts r on a port FreePort chose, with the command line
// args(port) returns. A port that another process took in the meantime (other
// test packages start servers on free ports too) is no failure of the rig: it
// tries again on another port.
func (r *Redis) startOnFreePort(args func(port int) ([]string, error)) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = FreePort(); err != nil {
			return err
		}
		r.Port = port
		if r.args, err = args(port); err != nil {
			return err
		}
		if err = r.Start(); err == nil || !errors.Is(err, errLostPort) {
			return err
		}
	}
	return err
}

// Start (re)starts the server with its original arguments and port, and waits
// until it answers as the process started here: INFO server names its pid, so
// a PONG from another test's server that took the port in the meantime is
// never taken for this one. Without persistence a restarted server is empty.
// If the server exits before it answers or another process answers on its
// port, Start kills what it started and fails (errLostPort, with the log).
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
	exited := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // reaped; exit status is irrelevant
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	if err := r.waitOurs(cmd.Process.Pid, exited, 30*time.Second); err != nil {
		r.Kill()
		return fmt.Errorf("%w\n%s", err, r.RedisLog())
	}
	return nil
}

// waitOurs waits until the server at r.Addr() answers INFO server with
// process_id pid, and fails as soon as the process exits or another process
// answers there.
func (r *Redis) waitOurs(pid int, exited <-chan struct{}, within time.Duration) error {
	o := &redis.Options{Addr: r.Addr(), Password: r.Password, TLSConfig: r.tlsConf}
	err := poll(o, within, exited, func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		if got := infoField(info, "process_id"); got != strconv.Itoa(pid) {
			return finalError{fmt.Errorf("%w: %s answers as process %q, not as the redis-server started here (pid %d)", errLostPort, r.Addr(), got, pid)}
		}
		return nil
	})
	var fe finalError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fe.error
	case errors.Is(err, errExited):
		return fmt.Errorf("%w: redis-server (pid %d) for %s %w", errLostPort, pid, r.Addr(), err)
	}
	return fmt.Errorf("redis at %s (pid %d) did not answer within %v: %w", r.Addr(), pid, within, err)
}

// finalError is a probe's answer that polling again cannot change.
type finalError struct{ error }

// errExited: the polled server's process exited.
var errExited = errors.New("exited before it answered")

// poll runs probe against the server of o, with a fresh client (no retries,
// a 200 ms dial timeout) and a 1 s timeout, every 20 ms until it returns nil
// or a finalError, exited is closed (nil: never) or within has passed. It
// returns nil, the finalError, errExited or the last probe error.
func poll(o *redis.Options, within time.Duration, exited <-chan struct{}, probe func(context.Context, *redis.Client) error) error {
	deadline := time.Now().Add(within)
	opts := *o
	opts.DisableIdentity, opts.MaxRetries, opts.DialTimeout = true, -1, 200*time.Millisecond
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("%w (last: %v)", errExited, last)
		default:
		}
		c := redis.NewClient(&opts)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		last = probe(ctx, c)
		cancel()
		c.Close()
		if last == nil || errors.As(last, new(finalError)) || time.Now().After(deadline) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// infoField returns the value of name in an INFO reply, or "".
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// Kill stops the server with SIGKILL (by the pid this rig started) and waits
// until the process has exited and been reaped: its sockets are closed, so
// nothing of it answers on its port any more.
func (r *Redis) Kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd, r.exited = nil, nil
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	// A SIGKILLed process exits at once; the bound only keeps a wedged
	// kernel from hanging the test binary.
	select {
	case <-exited:
	case <-time.After(time.Minute):
	}
}

// Restart kills the server and starts it again on the same port, empty. It
// fails (errLostPort) if another process took the port in between.
func (r *Redis) Restart() error {
	r.Kill()
	return r.Start()
}

// WaitRedis waits until addr answers PING with PONG.
func WaitRedis(addr string, within time.Duration) error {
	err := poll(&redis.Options{Addr: addr}, within, nil, func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	})
	if err != nil {
		return fmt.Errorf("redis at %s did not answer PING within %v: %w", addr, within, err)
	}
	return nil
}

// directClient is a client of the one server at addr, without retries: for
// probes and commands the rig sends to that server.
func directClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1})
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
