//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestDoctorFaultFS: on a FUSE mount that refuses the directory fsync doctor
// reports it and exits 5; and the peer test across two FUSE mounts of one
// directory tells forwarded locks from mount-local ones.
func TestDoctorFaultFS(t *testing.T) {
	t.Run("dir fsync refused", func(t *testing.T) {
		f := faultfs.Mount(t, faultfs.Options{Locks: true})
		f.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
		v := volume{mode: mode{name: "local"}, root: f.Dir}
		r := v.run(t, "", "doctor", "--json")
		if r.code != 5 {
			t.Errorf("doctor: exit %d; want 5; stderr %s", r.code, r.stderr)
		}
		d := parseDoctor(t, r)
		if d.Probe.DirFsync == "accepted" || !strings.Contains(strings.Join(d.Problems, " "), "directory fsync refused") {
			t.Errorf("dir fsync %q, problems %q; want the refusal reported", d.Probe.DirFsync, d.Problems)
		}
		if f.Injected(faultfs.OpFsyncDir) == 0 {
			t.Errorf("no directory fsync reached the filesystem")
		}
	})

	for _, locks := range []bool{true, false} {
		name := "locks not forwarded"
		if locks {
			name = "locks forwarded"
		}
		t.Run(name, func(t *testing.T) {
			a := faultfs.Mount(t, faultfs.Options{Locks: locks})
			b := faultfs.Mount(t, faultfs.Options{Locks: locks, Backing: a.Backing})
			pa := volume{mode: mode{name: "local"}, root: a.Dir}.start(t, "doctor", "--peer", "--peer-wait", "60s", "--json")
			pb := volume{mode: mode{name: "local"}, root: b.Dir}.start(t, "doctor", "--peer", "--peer-wait", "60s", "--json")
			for _, s := range []*started{pa, pb} {
				s.wait(t, 90*time.Second)
				d := parseDoctor(t, result{stdout: s.out.String(), stderr: s.errb.String()})
				if d.Peer == nil || d.Peer.Propagates != locks {
					t.Errorf("peer result %+v; want Propagates %v (stderr %s)", d.Peer, locks, s.errb.String())
				}
			}
		})
	}
}
