package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards TCP connections to addr, a redis-server, and returns its
// own address, and a channel closed when a client first sent cmd. On a
// connection whose client sends the command cmd (in lower case, as go-redis
// sends it) it forwards nothing more: it closes the connection, or with hang
// leaves it open and silent (a Redis that stopped answering). The test fails
// if no client sent cmd. Closed on cleanup.
func cutProxy(t *testing.T, addr, cmd string, hang bool) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The command's name as a RESP bulk string: "$4\r\ntime\r\n".
	name := []byte(fmt.Sprintf("$%d\r\n%s\r\n", len(cmd), cmd))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
		cut    atomic.Int32
		once   sync.Once
		sent   = make(chan struct{})
	)
	keep := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			for _, c := range cs {
				c.Close()
			}
			return false
		}
		conns = append(conns, cs...)
		return true
	}
	forward := func(client, server net.Conn) {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		var tail []byte // the end of what came before: a name split between two reads
		for {
			n, err := client.Read(buf)
			if n > 0 {
				seen := append(tail, bytes.ToLower(buf[:n])...)
				if bytes.Contains(seen, name) {
					cut.Add(1)
					once.Do(func() { close(sent) })
					if !hang {
						client.Close()
						server.Close()
					}
					return
				}
				if _, err := server.Write(buf[:n]); err != nil {
					client.Close()
					return
				}
				tail = append([]byte(nil), seen[max(0, len(seen)-len(name)+1):]...)
			}
			if err != nil {
				server.Close()
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				client.Close()
				continue
			}
			if !keep(client, server) {
				return
			}
			wg.Add(2)
			go forward(client, server)
			go func() {
				defer wg.Done()
				io.Copy(client, server)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		if cut.Load() == 0 {
			t.Errorf("no client sent %s through the proxy: the fault was not injected", strings.ToUpper(cmd))
		}
	})
	return ln.Addr().String(), sent
}
