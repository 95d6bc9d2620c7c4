//go:build linux

package coordinator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An Update in another process is stopped (SIGSTOP) while the fsync of its
// floor and pending write is under way (a slow network filesystem holds it
// there), past its lease TTL. Meanwhile a writer on another mount of the
// volume, whose file locks the stopped one's mount does not share (as
// between two sshfs hosts), takes the expired lease and commits. Continued,
// the stopped Update must not rename its content over the newer commit: its
// lease ran out after its commit check, so it re-checks before the rename,
// refuses (exit 4), and leaves no temp behind.
func TestUpdatePausedInRecordFsyncDoesNotOverwriteNewerHolder(t *testing.T) {
	r := needRedis(t)
	mnt := faultfs.Mount(t, faultfs.Options{})
	other := open(t, rds, mnt.Backing)
	ctx := ctxT(t, time.Minute)
	if err := other.WriteFile(ctx, "state", []byte("start\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The paused process's first fsync of a lock file is that of its floor
	// and pending write; Match says when it has reached the filesystem.
	inFsync := make(chan struct{})
	var once sync.Once
	mnt.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Count: 1, Delay: 2 * time.Second, Match: func(string) bool {
		once.Do(func() { close(inFsync) })
		return true
	}})

	const ttl = time.Second
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=update-appends-paused", "SW_ROOT="+mnt.Dir, "SW_REDIS="+r.URL(), "SW_TTL="+ttl.String())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var contOnce sync.Once
	cont := func() { contOnce.Do(func() { _ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) }) }
	t.Cleanup(func() {
		cont()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	select {
	case <-inFsync:
	case <-exited:
		t.Fatalf("the paused process exited (%v) before its floor and pending fsync", waitErr)
	case <-time.After(30 * time.Second):
		t.Fatal("the paused process never fsynced its floor and pending")
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * ttl / 2)

	if err := other.Update(ctx, "state", func(old []byte, _ bool) ([]byte, error) {
		return append(old, "newer\n"...), nil
	}); err != nil {
		t.Fatalf("the newer holder's Update: %v", err)
	}
	cont()

	var status int
	select {
	case <-exited:
		status = exitStatus(waitErr)
	case <-time.After(30 * time.Second):
		t.Fatal("the continued process did not exit within 30s")
	}
	mnt.Clear()
	if got, want := readFile(t, filepath.Join(mnt.Backing, "state")), "start\nnewer\n"; got != want {
		t.Errorf("state = %q; want %q (the newer holder's commit, nothing of the paused one)", got, want)
	}
	if status != ExitLeaseLost {
		t.Errorf("the paused process exited %d; want %d (lease lost or fenced, nothing committed)", status, ExitLeaseLost)
	}
	ents, err := os.ReadDir(mnt.Backing)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp %s left behind by the refused commit", e.Name())
		}
	}
}
