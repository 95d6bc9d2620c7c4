//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestDoctorSSHFS: two sshfs mounts of one export stand for two hosts. doctor
// finds fuse.sshfs, whose locks stay on each mount; the peer test across the
// two mounts confirms it; local mode on such a volume is refused (exit 5)
// while Redis mode reports the weaker, Redis-only fencing guarantee.
func TestDoctorSSHFS(t *testing.T) {
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "sshfs")
	_, ms := sshhost.Mounts(t, 2, sshhost.Coherent)
	a := volume{mode: mode{name: "local"}, root: ms[0].Dir}
	b := volume{mode: mode{name: "local"}, root: ms[1].Dir}

	r := a.run(t, "", "doctor", "--json")
	if r.code != 5 {
		t.Errorf("doctor in local mode on sshfs: exit %d; want 5; stderr %s", r.code, r.stderr)
	}
	d := parseDoctor(t, r)
	if d.FS.Type != "fuse.sshfs" || d.LockScope != "mount" {
		t.Errorf("fs %q, lock scope %q; want fuse.sshfs, mount", d.FS.Type, d.LockScope)
	}
	if len(d.Problems) == 0 || !strings.Contains(strings.Join(d.Problems, " "), "local mode") {
		t.Errorf("problems %q; want the local-mode refusal", d.Problems)
	}

	pa := a.start(t, "doctor", "--peer", "--peer-wait", "60s", "--json")
	pb := b.start(t, "doctor", "--peer", "--peer-wait", "60s", "--json")
	for _, s := range []*started{pa, pb} {
		s.wait(t, 90*time.Second)
		d := parseDoctor(t, result{stdout: s.out.String(), stderr: s.errb.String()})
		if d.Peer == nil || d.Peer.Propagates {
			t.Errorf("peer test across two sshfs mounts: got %+v; want locks not propagating (stderr %s)", d.Peer, s.errb.String())
		}
	}

	if redisSrv == nil {
		return
	}
	a.redis = redisSrv.URL()
	if r := a.run(t, "", "doctor"); r.code != 5 || !strings.Contains(r.stdout, "init-volume") {
		t.Errorf("doctor in Redis mode on an uninitialised volume: exit %d; want 5 and a hint to run init-volume:\n%s", r.code, r.stdout)
	}
	if r := a.run(t, "", "init-volume"); r.code != 0 {
		t.Fatalf("init-volume on sshfs: exit %d: %s", r.code, r.stderr)
	}
	r = a.run(t, "", "doctor", "--json")
	if r.code != 0 {
		t.Errorf("doctor in Redis mode on sshfs: exit %d; want 0; stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
	if d := parseDoctor(t, r); !strings.Contains(d.Fencing, "Redis lease and the fence check are the only cross-host guard") {
		t.Errorf("fencing %q; want the Redis-only guarantee", d.Fencing)
	}
}
