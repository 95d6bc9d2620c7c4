package sshhost

import (
	"net"
	"os"
	"testing"
)

// TestListens: listens finds a listening socket by its owner, and only there.
func TestListens(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if !listens(os.Getpid(), port) {
		t.Fatalf("listens(this process, %d) = false; it holds the listener", port)
	}
	// A connected socket on the port is not a listener of its own.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if listens(os.Getpid(), c.LocalAddr().(*net.TCPAddr).Port) {
		t.Fatalf("listens on a connection's local port = true; want false")
	}
	if listens(1, port) {
		t.Fatalf("listens(pid 1, %d) = true; this process holds the listener", port)
	}
}
