//go:build linux

// Package netns gives a test a second network "host": a network namespace
// joined to the test's namespace by a veth pair, each end with an address of
// a private /30. Processes started with Command run inside it. Partition
// takes the link down (packets are dropped, connections hang as on a real
// network split, nothing is refused), Heal brings it back.
//
// Everything is named with a random suffix, so tests may run at once, and
// deleted on cleanup (the namespace and both veth ends).
package netns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// NS is a network namespace linked to the test's namespace.
type NS struct {
	// Name is the namespace name (ip netns).
	Name string
	// HostIP is the address of the test's end of the link; NSIP the
	// address inside the namespace.
	HostIP, NSIP string
	// HostLink and NSLink are the names of the two veth ends.
	HostLink, NSLink string
}

// New creates a namespace with a veth pair to the test's namespace and a
// loopback interface that is up; it is deleted on cleanup. It needs root and
// ip(8) (or the test is skipped, see testrig.Unavailable).
func New(t testing.TB) *NS {
	t.Helper()
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "ip")
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	suffix := hex.EncodeToString(b[:3])
	// A /30 inside 10.200.0.0/14, chosen at random: 2^16 subnets, so tests
	// running at once practically never collide.
	n := binary.BigEndian.Uint16(b[2:])
	base := fmt.Sprintf("10.%d.%d.", 200+int(n>>14), int(n>>6)&0xff)
	last := int(n&0x3f) * 4
	ns := &NS{
		Name:     "sw-" + suffix,
		HostLink: "swh" + suffix,
		NSLink:   "swn" + suffix,
		HostIP:   base + fmt.Sprint(last+1),
		NSIP:     base + fmt.Sprint(last+2),
	}
	if out, err := ip("netns", "add", ns.Name); err != nil {
		testrig.Unavailable(t, fmt.Sprintf("ip netns add %s: %v: %s", ns.Name, err, out))
	}
	t.Cleanup(func() {
		// Deleting the namespace destroys its veth end and so the pair;
		// the host end is deleted explicitly in case the pair was never
		// moved in.
		if out, err := ip("netns", "del", ns.Name); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
		// The kernel destroys the pair asynchronously after the namespace.
		for i := 0; i < 50 && linkExists(ns.HostLink); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if linkExists(ns.HostLink) {
			if out, err := ip("link", "del", ns.HostLink); err != nil && linkExists(ns.HostLink) {
				t.Errorf("ip link del %s: %v: %s", ns.HostLink, err, out)
			}
		}
	})
	steps := [][]string{
		{"link", "add", ns.HostLink, "type", "veth", "peer", "name", ns.NSLink},
		{"link", "set", ns.NSLink, "netns", ns.Name},
		{"addr", "add", ns.HostIP + "/30", "dev", ns.HostLink},
		{"link", "set", ns.HostLink, "up"},
		{"-n", ns.Name, "addr", "add", ns.NSIP + "/30", "dev", ns.NSLink},
		{"-n", ns.Name, "link", "set", ns.NSLink, "up"},
		{"-n", ns.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := ip(s...); err != nil {
			t.Fatalf("netns: ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return ns
}

// Command returns a command that runs name inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// CommandContext is Command with a context.
func (ns *NS) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Partition takes the test's end of the link down: from then on no packet
// passes either way, and open connections stall until Heal.
func (ns *NS) Partition(t testing.TB) {
	t.Helper()
	if out, err := ip("link", "set", ns.HostLink, "down"); err != nil {
		t.Fatalf("netns: partition %s: %v: %s", ns.HostLink, err, out)
	}
}

// Heal brings the link back up after Partition.
func (ns *NS) Heal(t testing.TB) {
	t.Helper()
	if out, err := ip("link", "set", ns.HostLink, "up"); err != nil {
		t.Fatalf("netns: heal %s: %v: %s", ns.HostLink, err, out)
	}
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

func ip(args ...string) ([]byte, error) {
	return exec.Command("ip", args...).CombinedOutput()
}
