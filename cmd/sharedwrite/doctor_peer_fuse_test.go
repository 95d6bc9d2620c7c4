//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// Two replicas of doctor --peer on one FUSE mount of one host (locks not
// forwarded anywhere) see each other's lock through the kernel: that says
// nothing about other hosts, so local mode there is still refused (exit 5),
// as without --peer.
func TestDoctorSameHostPeerKeepsMountScope(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{Locks: false})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	if r := v.run(t, "", "doctor", "--json"); r.code != 5 {
		t.Fatalf("doctor (no --peer) on FUSE in local mode: exit %d; want 5 (precondition)", r.code)
	}
	pa := v.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	pb := v.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	for _, s := range []*started{pa, pb} {
		code := s.wait(t, 60*time.Second)
		d := parseDoctor(t, result{code: code, stdout: s.out.String(), stderr: s.errb.String()})
		if code != 5 || strings.Contains(d.Fencing, "cluster-wide") {
			t.Errorf("doctor --peer with both replicas on one host's FUSE mount (fs %q, peer %+v): exit %d, fencing %q; want exit 5: the locks of this FUSE mount do not reach other hosts",
				d.FS.Type, d.Peer, code, d.Fencing)
		}
	}
}

// Two doctor --peer runs leave nothing behind, also when the one that made
// .sharedwrite (A, on a slow FUSE view of the volume) ends first, while the
// other's (B's) files are still there: B, ending last, removes it.
func TestDoctorPeerLeavesNoMetaDir(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{Locks: true})
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Delay: 400 * time.Millisecond})
	meta := filepath.Join(f.Backing, ".sharedwrite")
	if _, err := os.Stat(meta); !os.IsNotExist(err) {
		t.Fatalf("precondition: %s exists before doctor", meta)
	}
	pa := volume{mode: mode{name: "local"}, root: f.Dir}.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	waitForFile(t, meta, 20*time.Second)
	pb := volume{mode: mode{name: "local"}, root: f.Backing}.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	for _, s := range []*started{pa, pb} {
		s.wait(t, 60*time.Second)
		if d := parseDoctor(t, result{stdout: s.out.String(), stderr: s.errb.String()}); d.Peer == nil {
			t.Fatalf("peer test did not run: stderr %s", s.errb.String())
		}
	}
	if _, err := os.Stat(meta); !os.IsNotExist(err) {
		var left []string
		filepath.Walk(meta, func(p string, _ os.FileInfo, _ error) error { left = append(left, p); return nil })
		t.Errorf("after two doctor --peer runs on a volume that had no .sharedwrite: %q left (stat err %v)", left, err)
	}
}
