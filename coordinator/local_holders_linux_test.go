//go:build linux

package coordinator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// In local mode successive holders of a key get strictly increasing fencing
// tokens from Lock (the `lock -- CMD` path hands the token to CMD as
// SHAREDWRITE_FENCE), also when a holder commits nothing.
func TestLocalLockTokensIncrease(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	var tokens []uint64
	for i := 0; i < 2; i++ {
		if err := c.Lock(ctx, "f", func(_ context.Context, info LeaseInfo) error {
			tokens = append(tokens, info.Token)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A second coordinator (another process, as far as the record goes).
	c2 := open(t, local, root)
	if err := c2.Lock(ctx, "f", func(_ context.Context, info LeaseInfo) error {
		tokens = append(tokens, info.Token)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("local-mode fencing tokens of successive holders = %v; want strictly increasing", tokens)
		}
	}
}

// A volume opened in local mode creates .sharedwrite (and so locks/, tx/ and
// every lock file, through setgid) in the root's group, as FORMAT.md says: a
// replica running as another user of that group can use it.
func TestLocalVolumeGroup(t *testing.T) {
	testrig.NeedRoot(t)
	const uid, gid = 65534, 65534
	base := t.TempDir()
	for p := base; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "root")
	if err := os.Mkdir(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o770); err != nil { // Mkdir's mode lost the umask's bits
		t.Fatal(err)
	}
	c := open(t, local, dir)
	if err := c.WriteFile(ctxT(t, 30*time.Second), "shared.cfg", []byte("0"), 0o664); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(dir, "shared.cfg"), 0, gid)
	for _, p := range []string{".sharedwrite", ".sharedwrite/locks", locking.LockPath("shared.cfg")} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		t.Logf("%s: mode %v gid %d", p, fi.Mode(), st.Gid)
	}

	// Another user of the root's group, in a child process.
	bin := filepath.Join(base, "coordinator.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=update", "SW_ROOT="+dir, "SW_N=1", "TMPDIR="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("update as uid %d in the root's group %d: %v\n%s", uid, gid, err, out)
	}

	fi, _ := os.Lstat(filepath.Join(dir, ".sharedwrite"))
	if st := fi.Sys().(*syscall.Stat_t); st.Gid != gid {
		t.Fatalf(".sharedwrite gid %d; want the root's group %d", st.Gid, gid)
	}
}

// Concurrent operations of a process that adopted its parent's lease and
// lock (WithAdoptedLease) on that key take turns: every one shares the
// inherited descriptor, which does not exclude them from each other, and no
// read-modify-write is lost.
func TestAdoptedConcurrentUpdates(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 60*time.Second)
	const workers, each = 4, 25
	err := c.Lock(ctx, "counter", func(ctx context.Context, info LeaseInfo) error {
		fd, err := syscall.Dup(int(info.Fd))
		if err != nil {
			return err
		}
		c2, err := Open(ctx, root, WithAdoptedLease(info.Key, info.LeaseID, info.Token, uintptr(fd)))
		if err != nil {
			syscall.Close(fd)
			return err
		}
		defer c2.Close()
		return incrementConcurrently(ctx, c2, "counter", workers, each)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, "counter")), "100"; got != want {
		t.Fatalf("counter after %d concurrent adopted Updates = %s; want %s (updates lost)", workers*each, got, want)
	}
}

// The same inside a Lock function: concurrent nested operations with fn's
// context take turns on the held key.
func TestNestedConcurrentUpdates(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 60*time.Second)
	const workers, each = 4, 25
	err := c.Lock(ctx, "counter", func(ctx context.Context, _ LeaseInfo) error {
		return incrementConcurrently(ctx, c, "counter", workers, each)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, "counter")), "100"; got != want {
		t.Fatalf("counter after %d concurrent nested Updates = %s; want %s (updates lost)", workers*each, got, want)
	}
}
