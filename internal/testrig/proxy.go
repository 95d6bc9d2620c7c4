package testrig

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// TCPProxy forwards the TCP connections it accepts on a loopback port to a
// target address (a redis-server), so that a test can break them: make one
// go silent (Silence: a peer whose host died, a network device that dropped
// the connection) or close it (Cut), also on seeing what its client sends.
type TCPProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []*ProxyConn
	closed bool
}

// ProxyConn is one forwarded connection.
type ProxyConn struct {
	client, server net.Conn
	silent         atomic.Bool
}

// Silence makes c drop what either side sends from now on, without closing
// it: no answer, no FIN, no RST.
func (c *ProxyConn) Silence() { c.silent.Store(true) }

// Cut closes both sides of c.
func (c *ProxyConn) Cut() {
	c.client.Close()
	c.server.Close()
}

// StartTCPProxy starts a proxy to target, closed with all its connections on
// cleanup. inspect, when not nil, is given each chunk a client sends before it
// is forwarded (and may Silence or Cut the connection, which then forwards
// nothing of it); it is called from one goroutine per connection.
func StartTCPProxy(t testing.TB, target string, inspect func(c *ProxyConn, fromClient []byte)) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the proxy: %v", err)
	}
	p := &TCPProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for _, c := range p.conns {
			c.Cut()
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
			c := &ProxyConn{client: client, server: server}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				c.Cut()
				return
			}
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); c.pipe(server, client, inspect) }()
			go func() { defer wg.Done(); c.pipe(client, server, nil) }()
		}
	}()
	return p
}

// pipe copies src to dst until either fails, showing each chunk to inspect
// first and dropping it once c is silent; then it closes both sides.
func (c *ProxyConn) pipe(dst, src net.Conn, inspect func(*ProxyConn, []byte)) {
	defer c.Cut()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if inspect != nil {
				inspect(c, buf[:n])
			}
			if !c.silent.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return // EOF, or closed: the other direction ends with it
		}
	}
}

// Addr is the proxy's address.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// SilenceAll silences every connection open now (see ProxyConn.Silence) and
// returns how many there are.
func (p *TCPProxy) SilenceAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Silence()
	}
	return len(p.conns)
}
