package coordinator

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// silencingProxy forwards TCP connections to a Redis server. silence makes
// the connections open at that moment go silent without closing: what either
// side sends is read and dropped, nothing is answered, and no FIN or RST is
// sent, as when the peer's host dies or a network device drops the connection
// from its tables. Connections made later are forwarded as usual.
type silencingProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []*proxiedConn
}

type proxiedConn struct {
	client, server net.Conn
	silent         atomic.Bool
}

func startSilencingProxy(t *testing.T, target string) *silencingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the proxy: %v", err)
	}
	p := &silencingProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.client.Close()
			c.server.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			c := &proxiedConn{client: client, server: server}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); c.pipe(server, client) }()
			go func() { defer wg.Done(); c.pipe(client, server) }()
		}
	}()
	return p
}

// pipe copies src to dst until either fails, dropping what it reads once the
// connection is silent.
func (c *proxiedConn) pipe(dst, src net.Conn) {
	defer c.client.Close()
	defer c.server.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or closed: the other direction ends with it
		}
	}
}

func (p *silencingProxy) addr() string { return p.ln.Addr().String() }

// silence makes every connection open now go silent; it returns how many.
func (p *silencingProxy) silence() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.silent.Store(true)
	}
	return len(p.conns)
}

// watchPing makes the subscription PING after d of silence (a test hook; see
// watchConfig.ping).
func watchPing(d time.Duration) WatchOption { return func(w *watchConfig) { w.ping = d } }

// TestWatchResubscribesWhenItsConnectionGoesSilent: the subscription's
// connection goes silent without being closed (its peer's host died, a
// network device dropped it), while Redis goes on serving the writer. The
// kernel would notice only after many minutes of retransmissions; Watch must
// notice by its PING going unanswered, resubscribe, and deliver the versions
// committed meanwhile without waiting for its poll.
func TestWatchResubscribesWhenItsConnectionGoesSilent(t *testing.T) {
	r := needRedis(t)
	ctx := ctxT(t, 2*time.Minute)
	root := t.TempDir()
	direct := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { direct.Close() })
	if _, err := InitVolume(ctx, root, direct); err != nil {
		t.Fatal(err)
	}
	writerC, err := Open(ctx, root, WithRedis(direct))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writerC.Close() })

	p := startSilencingProxy(t, r.Addr())
	proxied := redis.NewClient(&redis.Options{Addr: p.addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { proxied.Close() })
	watcherC, err := Open(ctx, root, WithRedis(proxied))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcherC.Close() })

	// The poll is out of the picture: only change events deliver.
	w := startWatch(t, watcherC, "cfg", WatchInterval(time.Hour), watchPing(300*time.Millisecond))
	write := func(s string) {
		t.Helper()
		if err := writerC.WriteFile(ctx, "cfg", []byte(s), 0o644); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}
	// The subscription stands once an event gets through.
	for i := 0; ; i++ {
		write("before")
		ok := false
		for _, ch := range w.got() {
			ok = ok || string(ch.Data) == "before"
		}
		if ok {
			break
		}
		if i == 100 {
			t.Fatalf("no version delivered through the subscription; delivered %s", describe(w.got()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := p.silence(); n == 0 {
		t.Fatal("no connection through the proxy to silence")
	}
	write("after 1")
	w.waitFor(t, 20*time.Second, `"after 1", committed once the connection went silent`, func(ch Change) bool { return string(ch.Data) == "after 1" })
	write("after 2")
	w.waitFor(t, 20*time.Second, `"after 2"`, func(ch Change) bool { return string(ch.Data) == "after 2" })
	checkOrder(t, w.got())
}
