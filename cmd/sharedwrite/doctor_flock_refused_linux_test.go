//go:build linux

package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// noLockNode is a loopback node whose files refuse every lock with errno.
type noLockNode struct {
	fs.LoopbackNode
	errno syscall.Errno
}

func (n *noLockNode) Setlk(context.Context, fs.FileHandle, uint64, *fuse.FileLock, uint32) syscall.Errno {
	return n.errno
}

func (n *noLockNode) Setlkw(context.Context, fs.FileHandle, uint64, *fuse.FileLock, uint32) syscall.Errno {
	return n.errno
}

// mountNoLocks mounts a FUSE loopback of a new directory whose daemon takes
// the locks (the kernel forwards them) and refuses each with errno.
func mountNoLocks(t *testing.T, errno syscall.Errno) string {
	t.Helper()
	testrig.NeedRoot(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		testrig.Unavailable(t, "no /dev/fuse: "+err.Error())
	}
	backing, dir := t.TempDir(), t.TempDir()
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		t.Fatal(err)
	}
	lr := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	lr.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &noLockNode{LoopbackNode: fs.LoopbackNode{RootData: r}, errno: errno}
	}
	lr.RootNode = lr.NewNode(lr, nil, "", &st)
	zero := time.Duration(0)
	server, err := fs.Mount(dir, lr.RootNode, &fs.Options{
		EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{FsName: "nolocks", Name: "nolocks", DirectMount: true, EnableLocks: true},
	})
	if err != nil {
		testrig.Unavailable(t, "mount FUSE on "+dir+": "+err.Error())
	}
	t.Cleanup(func() {
		if err := server.Unmount(); err != nil {
			testrig.Unmount(t, dir)
		}
	})
	return dir
}

// On a volume whose file locks are refused (ENOLCK: no lock manager;
// EOPNOTSUPP) doctor fails its verdict in Redis mode too, whose commits
// take the file lock as well, and the file-lock row names the call, the
// lock file and the errno. It read "flock refused: held=false err=no locks
// available", naming no file.
func TestDoctorFlockRefusedNamesTheLockFile(t *testing.T) {
	rd := needRedis(t)
	for _, errno := range []syscall.Errno{syscall.ENOLCK, syscall.EOPNOTSUPP} {
		t.Run(errno.Error(), func(t *testing.T) {
			v := volume{mode: mode{name: "redis", redis: rd.URL()}, root: mountNoLocks(t, errno)}
			if r := v.run(t, "", "init-volume"); r.code != 0 {
				t.Fatalf("init-volume: exit %d: %s", r.code, r.stderr)
			}
			r := v.run(t, "", "doctor", "--json")
			d := parseDoctor(t, r)
			if r.code != 5 || !strings.Contains(strings.Join(d.Problems, "\n"), "file lock") {
				t.Errorf("doctor, Redis mode, locks refused with %v: exit %d, problems %q; want exit 5 naming the file lock", errno, r.code, d.Problems)
			}
			for _, want := range []string{"flock", ".sharedwrite/doctor/probe.", ".lock", errno.Error()} {
				if !strings.Contains(d.Probe.FileLock, want) {
					t.Errorf("file lock row %q; want it to name %q", d.Probe.FileLock, want)
				}
			}
		})
	}
}
