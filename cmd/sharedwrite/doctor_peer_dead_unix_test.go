//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// The holder dies (SIGKILL) after it announced its lock, before the prober
// tried it: its lock went with it, and the prober must not take the free
// lock for one that did not propagate (here, on one local disk, they do).
func TestDoctorPeerHolderDiesBeforeTheProbe(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	a := v.start(t, "doctor", "--peer", "--peer-wait", "5s")
	idA := waitPeerFile(t, v, "hello.", 1)
	b := v.start(t, "doctor", "--peer", "--peer-wait", "5s")
	// a's id is the smaller (taken earlier): a holds, b probes.
	if held := waitPeerFile(t, v, "held.", 1); held != idA {
		t.Fatalf("held.%s appeared; want held.%s (the first doctor holds)", held, idA)
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.wait(t, 10*time.Second)
	b.cmd.Process.Signal(syscall.SIGCONT)
	code := b.wait(t, 60*time.Second)
	t.Logf("prober: exit %d\n%s%s", code, b.out.String(), b.errb.String())
	if strings.Contains(b.out.String(), "DO NOT propagate") {
		t.Fatalf("a killed holder made the prober report that locks do not propagate on a local disk")
	}
	if code != 0 && !strings.Contains(b.errb.String(), "did not confirm") {
		t.Fatalf("prober exit %d without saying the peer did not confirm: %s", code, b.errb.String())
	}
}
