//go:build unix

package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pingHolder forwards loopback TCP connections to the Redis at addr, except
// that it holds the first PING it sees: the command is never forwarded, so
// its reply never comes. seen is closed when it holds it. Everything is
// closed on cleanup.
func pingHolder(t *testing.T, addr string) (url string, seen <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	var (
		once  sync.Once
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(s)
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(c, s) }()
			go func() {
				defer wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 && bytes.Contains(bytes.ToLower(buf[:n]), []byte("$4\r\nping\r\n")) {
						once.Do(func() { close(held) })
						io.Copy(io.Discard, c) // held: nothing more is forwarded
						return
					}
					if n > 0 {
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						s.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "redis://" + ln.Addr().String(), held
}

// SIGINT while bench waits for a PING's reply (the PING held by a proxy, so
// that the signal lands in the PING turn every time) is reported as the
// interruption (exit 130), not as Redis being unavailable: bench used to
// print "bench redis PING: redis unavailable: context canceled".
func TestBenchSignalDuringPing(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	url, held := pingHolder(t, redisSrv.Addr())
	v.redis = url
	s := v.start(t, "--timeout", "20s", "bench", "--ops", "3")
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("bench sent no PING; stderr %s", s.errb.String())
	}
	time.Sleep(100 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGINT)
	sent := time.Now()
	code := s.wait(t, time.Minute)
	stderr := s.errb.String()
	if code != 130 || strings.Contains(stderr, "redis unavailable") || !strings.Contains(stderr, "interrupt") {
		t.Errorf("SIGINT during a PING: exit %d after %v, stderr %q; want 130, reported as the interruption, not Redis unavailable",
			code, time.Since(sent).Round(time.Millisecond), stderr)
	}
	if d := benchDirs(t, v.root); len(d) > 0 {
		t.Errorf("bench directory left behind: %q", d)
	}
}
