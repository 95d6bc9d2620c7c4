//go:build linux

package netns_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/netns"
)

// dialFromNS connects from inside the namespace to addr with bash's
// /dev/tcp and sends line; it reports the command's error.
func dialFromNS(ns *netns.NS, addr *net.TCPAddr, line string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo %s >&3", addr.IP, addr.Port, line)
	out, err := ns.CommandContext(ctx, "bash", "-c", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func TestLinkAndPartition(t *testing.T) {
	ns := netns.New(t)
	ln, err := net.Listen("tcp", ns.HostIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			got <- strings.TrimSpace(line)
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)

	if err := dialFromNS(ns, addr, "hello", 10*time.Second); err != nil {
		t.Fatalf("connect from the namespace to %s: %v", addr, err)
	}
	if line := <-got; line != "hello" {
		t.Fatalf("received %q; want %q", line, "hello")
	}

	ns.Partition(t)
	if err := dialFromNS(ns, addr, "lost", 2*time.Second); err == nil {
		t.Fatalf("connect from the namespace during a partition succeeded; want it to fail")
	}

	ns.Heal(t)
	// The link needs a moment to come back up (carrier, neighbour entry).
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := dialFromNS(ns, addr, "again", 3*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect after Heal: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if line := <-got; line != "again" {
		t.Fatalf("received %q after Heal; want %q", line, "again")
	}
}

func TestCleanupRemovesEverything(t *testing.T) {
	var ns *netns.NS
	t.Run("inner", func(t *testing.T) { ns = netns.New(t) })
	if ns == nil {
		t.Skip("namespace not created")
	}
	if _, err := os.Stat("/run/netns/" + ns.Name); !os.IsNotExist(err) {
		t.Errorf("namespace %s after cleanup: %v; want it gone", ns.Name, err)
	}
	if _, err := os.Stat("/sys/class/net/" + ns.HostLink); !os.IsNotExist(err) {
		t.Errorf("link %s after cleanup: %v; want it gone", ns.HostLink, err)
	}
}
