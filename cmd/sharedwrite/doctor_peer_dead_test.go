package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// peerFiles lists the peer test's files on v's volume.
func peerFiles(v volume) []string {
	ents, _ := os.ReadDir(filepath.Join(v.root, ".sharedwrite", "doctor", "peer"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// waitPeerFile waits until n of the peer test's files start with prefix and
// returns the id of the first (its name after the prefix).
func waitPeerFile(t *testing.T, v volume, prefix string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var ids []string
		for _, name := range peerFiles(v) {
			if id, ok := strings.CutPrefix(name, prefix); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) >= n {
			return ids[0]
		}
	}
	t.Fatalf("no %d %s* file appeared; peer files: %q", n, prefix, peerFiles(v))
	return ""
}

// A doctor --peer killed with SIGKILL leaves its hello behind. Two doctors
// started after it pass it over and meet each other.
func TestDoctorPeerPassesOverADeadHello(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	dead := v.start(t, "doctor", "--peer", "--peer-wait", "30s")
	waitPeerFile(t, v, "hello.", 1)
	dead.cmd.Process.Signal(syscall.SIGKILL)
	dead.wait(t, 10*time.Second)
	if left := peerFiles(v); len(left) == 0 {
		t.Fatal("the killed doctor left no hello: nothing is tested")
	}
	a := v.start(t, "doctor", "--peer", "--peer-wait", "8s")
	time.Sleep(500 * time.Millisecond)
	b := v.start(t, "doctor", "--peer", "--peer-wait", "8s")
	ca, cb := a.wait(t, 60*time.Second), b.wait(t, 60*time.Second)
	if ca != 0 || cb != 0 {
		t.Fatalf("two doctors after a killed one: exits %d, %d; want 0, 0\na: %s%s\nb: %s%s", ca, cb, a.out.String(), a.errb.String(), b.out.String(), b.errb.String())
	}
	for _, d := range []*started{a, b} {
		if !strings.Contains(d.out.String(), "locks propagate between the two replicas") {
			t.Errorf("doctor output lacks the verdict:\n%s", d.out.String())
		}
	}
}
