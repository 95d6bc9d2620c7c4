package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// cutProxy forwards TCP connections to addr, a redis-server, and returns its
// own address, and a channel closed when a client first sent cmd. On a
// connection whose client sends the command cmd (in lower case, as go-redis
// sends it) it forwards nothing more: it closes the connection, or with hang
// leaves it open and silent (a Redis that stopped answering). The test fails
// if no client sent cmd. Closed on cleanup.
func cutProxy(t *testing.T, addr, cmd string, hang bool) (string, <-chan struct{}) {
	t.Helper()
	// The command's name as a RESP bulk string: "$4\r\ntime\r\n".
	name := []byte(fmt.Sprintf("$%d\r\n%s\r\n", len(cmd), cmd))
	var (
		cut   atomic.Int32
		once  sync.Once
		sent  = make(chan struct{})
		tails sync.Map // *testrig.ProxyConn -> []byte: the end of what came before (a name split between two reads)
	)
	p := testrig.StartTCPProxy(t, addr, func(c *testrig.ProxyConn, b []byte) {
		v, _ := tails.Load(c)
		tail, _ := v.([]byte)
		seen := append(append([]byte(nil), tail...), bytes.ToLower(b)...)
		if bytes.Contains(seen, name) {
			cut.Add(1)
			once.Do(func() { close(sent) })
			if hang {
				c.Silence()
			} else {
				c.Cut()
			}
			return
		}
		tails.Store(c, seen[max(0, len(seen)-len(name)+1):])
	})
	t.Cleanup(func() {
		if cut.Load() == 0 {
			t.Errorf("no client sent %s through the proxy: the fault was not injected", strings.ToUpper(cmd))
		}
	})
	return p.Addr(), sent
}
