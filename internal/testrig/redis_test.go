package testrig

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRedisStartKillRestart(t *testing.T) {
	r := StartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	n, err := c.Exists(ctx, "k").Result()
	if err != nil {
		t.Fatalf("EXISTS after restart: %v", err)
	}
	if n != 0 {
		t.Fatalf("EXISTS k after a restart without persistence = %d; want 0", n)
	}
	r.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatalf("PING after Kill succeeded; want an error")
	}
}

// TestStartNeverTakesAnotherServer: when another redis-server holds the port
// (another test package took it between a Kill and a Restart), Start fails
// with errLostPort and leaves nothing running, instead of taking the other
// server's PONG for its own; and a server answering with another pid is
// refused even while the process started here is still alive.
func TestStartNeverTakesAnotherServer(t *testing.T) {
	var r, other *Redis
	for attempt := 0; ; attempt++ {
		r = StartRedis(t)
		r.Kill()
		// Someone else's server on the port r had.
		other = &Redis{Dir: t.TempDir(), Port: r.Port, args: []string{
			"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no",
		}}
		err := other.Start()
		if err == nil {
			t.Cleanup(other.Kill)
			break
		}
		// A third process took the port first: try with another.
		if !errors.Is(err, errLostPort) || attempt == 2 {
			t.Fatalf("start the other server on %d: %v", r.Port, err)
		}
	}
	err := r.Start()
	if !errors.Is(err, errLostPort) {
		t.Fatalf("Start on a port another server holds: %v; want errLostPort", err)
	}
	if pid := r.PID(); pid != 0 {
		t.Fatalf("failed Start left its redis-server (pid %d) behind", pid)
	}
	if err := other.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the other server after the failed Start: %v", err)
	}
	// The pid check itself, whatever the timing of the exit above: the
	// other server answers, but not as the process waited for.
	alive := make(chan struct{}) // never closed: "still running"
	err = r.waitOurs(other.PID()+1, alive, 10*time.Second)
	if !errors.Is(err, errLostPort) || !strings.Contains(err.Error(), "answers as process") {
		t.Fatalf("waitOurs for another pid on the other server's port: %v; want errLostPort (answers as process ...)", err)
	}
	if err := r.waitOurs(other.PID(), alive, 10*time.Second); err != nil {
		t.Fatalf("waitOurs for the other server's own pid: %v; want nil", err)
	}
}
