package locking

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// dyingProxy forwards TCP connections to a Redis server. After the first
// connection, the next dial makes it behave as a Redis server that has just
// died: every connection is closed and further dials are refused.
type dyingProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	n     int
}

func newDyingProxy(t *testing.T, target string) *dyingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dyingProxy{ln: ln}
	t.Cleanup(p.down)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.n++
			if p.n > 1 {
				p.mu.Unlock()
				c.Close()
				p.down()
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *dyingProxy) down() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// A waiter told "held" whose Redis then dies (refusing every connection until
// the deadline) reports ErrUnavailable (exit 6), not ErrNotObtained (exit 3):
// a deadline that passes while Redis refuses connections is 6, not 3.
func TestWaiterRedisDiesAfterRefusal(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	holder := NewRedisLocker(testClient(t, r.Addr()), vol)
	ctx := ctxTimeout(t, 30*time.Second)
	le, err := holder.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Release(ctx, nil, "k")

	p := newDyingProxy(t, r.Addr())
	waiter := NewRedisLocker(testClient(t, p.ln.Addr().String()), vol)
	defer waiter.Close()
	const deadline = 1500 * time.Millisecond
	start := time.Now()
	_, err = waiter.Acquire(ctxTimeout(t, deadline), "k", 20*time.Second)
	took := time.Since(start)
	p.mu.Lock()
	dials := p.n
	p.mu.Unlock()
	t.Logf("after %v (%d dials to the proxy): %v", took.Round(time.Millisecond), dials, err)
	if dials < 2 {
		t.Skip("the proxy never saw a second connection: the race was not reproduced")
	}
	// Redis refuses connections now: confirm.
	if c, derr := net.DialTimeout("tcp", p.ln.Addr().String(), time.Second); derr == nil {
		c.Close()
		t.Fatal("proxy still accepts connections")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire whose Redis refused connections from its first reply until the deadline: %v; want ErrUnavailable (exit 6), not ErrNotObtained (exit 3)", err)
	}
}

// TestAcquireNoReplyNamed: a server that accepts connections and never
// answers (a hung Redis) makes Acquire unavailable within its deadline, and
// the error says that no reply came; it used to end in the client's bare
// "context canceled".
func TestAcquireNoReplyNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	l := NewRedisLocker(testClient(t, ln.Addr().String()), "vol")
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = l.Acquire(ctx, "k", time.Second)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Acquire took %v with a 500ms deadline", took.Round(time.Millisecond))
	}
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no reply from Redis") {
		t.Errorf("Acquire against a server that never answers = %v; want ErrUnavailable saying no reply came", err)
	}
}
