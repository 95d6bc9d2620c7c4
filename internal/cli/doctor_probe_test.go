package cli

import (
	"testing"
	"time"
)

func TestLockScope(t *testing.T) {
	tests := []struct {
		name string
		fs   fsInfo
		want lockScope
	}{
		{"ext4", fsInfo{Type: "ext4"}, scopeHost},
		{"xfs", fsInfo{Type: "xfs"}, scopeHost},
		{"tmpfs", fsInfo{Type: "tmpfs"}, scopeHost},
		{"overlay", fsInfo{Type: "overlay"}, scopeHost},
		{"nfs4 with locks", fsInfo{Type: "nfs4", Options: []string{"rw", "vers=4.2", "local_lock=none"}}, scopeCluster},
		{"nfs local_lock=posix", fsInfo{Type: "nfs", Options: []string{"local_lock=posix"}}, scopeCluster},
		{"nfs nolock", fsInfo{Type: "nfs", Options: []string{"rw", "nolock"}}, scopeMount},
		{"nfs local_lock=flock", fsInfo{Type: "nfs", Options: []string{"local_lock=flock"}}, scopeMount},
		{"nfs4 local_lock=all", fsInfo{Type: "nfs4", Options: []string{"local_lock=all"}}, scopeMount},
		{"sshfs", fsInfo{Type: "fuse.sshfs"}, scopeMount},
		{"fuse", fsInfo{Type: "fuse"}, scopeMount},
		{"cifs", fsInfo{Type: "cifs"}, scopeUnknown},
		{"unknown", fsInfo{}, scopeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := tt.fs.lockScope(); got != tt.want || why == "" {
				t.Errorf("lockScope: got %q (%q); want %q with a reason", got, why, tt.want)
			}
		})
	}
}

func TestStaleWindow(t *testing.T) {
	tests := []struct {
		name string
		fs   fsInfo
		want time.Duration
	}{
		{"ext4", fsInfo{Type: "ext4"}, 0},
		{"nfs defaults", fsInfo{Type: "nfs4", Options: []string{"rw"}}, 120 * time.Second},
		{"nfs actimeo", fsInfo{Type: "nfs", Options: []string{"actimeo=3"}}, 6 * time.Second},
		{"nfs acregmax/acdirmax", fsInfo{Type: "nfs", Options: []string{"acregmax=10", "acdirmax=20"}}, 40 * time.Second},
		{"nfs noac", fsInfo{Type: "nfs", Options: []string{"noac"}}, 0},
		{"sshfs", fsInfo{Type: "fuse.sshfs"}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := tt.fs.staleWindow(); got != tt.want {
				t.Errorf("staleWindow: got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	good := fsProbe{Rounds: doctorRounds, SameDevice: true, Link: "ok", NoReplace: "ok", DirFsync: "accepted", FileLock: "works"}
	tests := []struct {
		name     string
		rep      doctorReport
		problems int
	}{
		{"local disk, local mode", doctorReport{Mode: "local", LockScope: scopeHost, Probe: good}, 0},
		{"redis mode, volume not initialised", doctorReport{Mode: "redis", LockScope: scopeHost, Probe: good}, 1},
		{"redis mode, local volume", doctorReport{Mode: "redis", Volume: "local", LockScope: scopeHost, Probe: good}, 1},
		{"local mode, redis volume", doctorReport{Mode: "local", Volume: "redis", LockScope: scopeHost, Probe: good}, 1},
		{"redis mode, redis volume", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: good}, 0},
		{"sshfs, local mode", doctorReport{Mode: "local", LockScope: scopeMount, Probe: good}, 1},
		{"sshfs, redis mode", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeMount, Probe: good}, 0},
		{"peer says no, local mode", doctorReport{Mode: "local", LockScope: scopeCluster, Probe: good, Peer: &peerResult{}}, 1},
		{"peer says yes, unknown fs", doctorReport{Mode: "local", LockScope: scopeUnknown, Probe: good, Peer: &peerResult{Propagates: true}}, 0},
		{"dir fsync refused", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Rounds: doctorRounds, SameDevice: true, Link: "ok", NoReplace: "ok", DirFsync: "invalid argument", FileLock: "works"}}, 1},
		{"no create-only", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Rounds: doctorRounds, SameDevice: true, Link: "refused", NoReplace: "refused", DirFsync: "accepted", FileLock: "works"}}, 1},
		{"one create-only is enough", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Rounds: doctorRounds, SameDevice: true, Link: "refused", NoReplace: "ok", DirFsync: "accepted", FileLock: "works"}}, 0},
		{"lock not enforced", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Rounds: doctorRounds, SameDevice: true, Link: "ok", NoReplace: "ok", DirFsync: "accepted", FileLock: "NOT enforced"}}, 1},
		{"probes not run: only the error that stopped them", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Link: notProbed, NoReplace: notProbed, DirFsync: notProbed, FileLock: notProbed, ProbeErrors: []string{"mkdir: read-only file system"}}}, 1},
		{"temp on another device", doctorReport{Mode: "redis", Volume: "redis", LockScope: scopeHost, Probe: fsProbe{Rounds: doctorRounds, Link: "ok", NoReplace: "ok", DirFsync: "accepted", FileLock: "works"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rep
			r.judge(10 * time.Second)
			if len(r.Problems) != tt.problems {
				t.Errorf("problems: got %q; want %d", r.Problems, tt.problems)
			}
			if r.Fencing == "" || r.SuggestMarg < 50*time.Millisecond || r.SuggestTTL < 5*r.SuggestMarg {
				t.Errorf("fencing %q, margin %v, TTL %v; want a guarantee, margin >= 50ms, TTL >= 5 margins", r.Fencing, r.SuggestMarg, r.SuggestTTL)
			}
		})
	}
}
