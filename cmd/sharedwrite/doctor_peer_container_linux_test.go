//go:build linux

package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// Two replicas of doctor --peer on one host's FUSE mount, one of them under a
// hostname of its own (as a container on that host has: its own UTS
// namespace, the host's kernel), see each other's lock through the one kernel
// they share. That says nothing about other hosts: the peer is reported as
// on the same host, and local mode there is still refused (exit 5), as
// without --peer. A different hostname was taken for another host, and the
// mount's locks for cluster-wide (exit 0).
func TestDoctorPeerInOtherUTSNamespaceIsSameHost(t *testing.T) {
	testrig.NeedRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testrig.Unavailable(t, "unshare(1): "+err.Error())
	}
	if out, err := exec.Command(unshare, "--uts", "true").CombinedOutput(); err != nil {
		testrig.Unavailable(t, "unshare --uts: "+strings.TrimSpace(string(out))+": "+err.Error())
	}
	f := faultfs.Mount(t, faultfs.Options{Locks: false})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	args := v.args("doctor", "--peer", "--peer-wait", "20s", "--json")

	pa := v.start(t, args[2:]...)
	// The other replica: its own hostname, as in a container on this host.
	cmd := exec.Command(unshare, append([]string{"--uts", "sh", "-c",
		`hostname doctor-peer-in-a-container && exec "$0" "$@"`, swBin}, args...)...)
	cmd.Env = baseEnv()
	pb := startCmd(t, cmd)

	for _, s := range []*started{pa, pb} {
		code := s.wait(t, 40*time.Second)
		d := parseDoctor(t, result{code: code, stdout: s.out.String(), stderr: s.errb.String()})
		if d.Peer == nil {
			t.Fatalf("peer test did not run: exit %d, stderr %s", code, s.errb.String())
		}
		if !d.Peer.SameHost || code != 5 || strings.Contains(d.Fencing, "cluster-wide") {
			t.Errorf("doctor --peer, both replicas on one host's FUSE mount, one under another hostname (fs %q): same_host %v, exit %d, fencing %q; want same_host true, exit 5: the locks of this FUSE mount do not reach other hosts",
				d.FS.Type, d.Peer.SameHost, code, d.Fencing)
		}
	}
}
