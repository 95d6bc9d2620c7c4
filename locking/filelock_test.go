package locking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func init() {
	helpers["flock-holder"] = helperFlockHolder
	helpers["adopt-fd"] = helperAdoptFD
}

// helperAdoptFD adopts the inherited descriptor FD for KEY under ROOT, checks
// that a fresh open cannot lock (the parent's lock holds), writes a committed
// version through it and says "adopted".
func helperAdoptFD() error {
	fd, err := strconv.Atoi(os.Getenv("FD"))
	if err != nil {
		return err
	}
	fl, err := AdoptFileLock(uintptr(fd), os.Getenv("KEY"))
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(os.Getenv("ROOT"))
	if err != nil {
		return err
	}
	d, err := OpenLockDir(root)
	if err != nil {
		return err
	}
	other, err := d.Open(os.Getenv("KEY"))
	if err != nil {
		return err
	}
	if ok, err := other.TryLock(); err != nil || ok {
		return fmt.Errorf("a fresh open locked the key the parent holds: %v %v", ok, err)
	}
	if err := fl.WriteCommitted(Version{Token: 11, LeaseID: "nested", PID: os.Getpid()}); err != nil {
		return err
	}
	if err := fl.Close(); err != nil {
		return err
	}
	fmt.Println("adopted")
	return nil
}

// TestInheritedFileLock: the `lock -- CMD` flow. The parent clears
// close-on-exec on its locked descriptor; the child adopts it, finds the key
// locked against others, writes the record, and its exit leaves the parent's
// lock in place.
func TestInheritedFileLock(t *testing.T) {
	root, d := newLockDir(t)
	fl := openLocked(t, d, "nested/key")
	if err := fl.SetInheritable(true); err != nil {
		t.Fatal(err)
	}
	p := startHelper(t, "adopt-fd", "ROOT="+root.Name(), "KEY=nested/key", "FD="+strconv.Itoa(int(fl.Fd())))
	p.expect(t, "adopted", 10*time.Second)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if err := fl.SetInheritable(false); err != nil {
		t.Fatal(err)
	}
	rec, err := fl.ReadRecord()
	if err != nil || rec.Committed.LeaseID != "nested" {
		t.Fatalf("record after the child's write = %+v, %v", rec, err)
	}
	other, err := d.Open("nested/key")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ok, _ := other.TryLock(); ok {
		t.Fatalf("the child's exit released the parent's lock")
	}
}

// helperFlockHolder locks KEY under ROOT, says "locked <pid>", waits for a
// stdin line, unlocks and says "unlocked". With TRY=1 it first says "busy" or
// "free" from a TryLock; with WRITE=1 it writes a committed version.
func helperFlockHolder() error {
	root, err := os.OpenRoot(os.Getenv("ROOT"))
	if err != nil {
		return err
	}
	d, err := OpenLockDir(root)
	if err != nil {
		return err
	}
	fl, err := d.Open(os.Getenv("KEY"))
	if err != nil {
		return err
	}
	if os.Getenv("TRY") == "1" {
		ok, err := fl.TryLock()
		if err != nil {
			return err
		}
		if ok {
			fmt.Println("free")
		} else {
			fmt.Println("busy")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fl.Lock(ctx); err != nil {
		return err
	}
	if os.Getenv("WRITE") == "1" {
		if err := fl.WriteCommitted(Version{Token: 9, LeaseID: "child", PID: os.Getpid()}); err != nil {
			return err
		}
	}
	fmt.Printf("locked %d\n", os.Getpid())
	var line string
	fmt.Scanln(&line)
	if err := fl.Close(); err != nil {
		return err
	}
	fmt.Println("unlocked")
	return nil
}

func TestFileLockExcludesProcesses(t *testing.T) {
	root, d := newLockDir(t)
	p := startHelper(t, "flock-holder", "ROOT="+root.Name(), "KEY=a.txt")
	p.expect(t, "locked ", 10*time.Second)

	fl, err := d.Open("a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if ok, err := fl.TryLock(); err != nil || ok {
		t.Fatalf("TryLock while another process holds it: %v, %v; want false", ok, err)
	}
	err = fl.Lock(ctxTimeout(t, 100*time.Millisecond))
	if !errors.Is(err, ErrNotObtained) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held elsewhere: %v; want ErrNotObtained and DeadlineExceeded", err)
	}
	var he *HolderError
	if !errors.As(err, &he) || he.PID != p.cmd.Process.Pid {
		t.Fatalf("error %v names pid %d; want %d", err, he.PID, p.cmd.Process.Pid)
	}
	t.Logf("timed-out wait: %v", err)

	p.send(t, "go")
	p.expect(t, "unlocked", 5*time.Second)
	if err := fl.Lock(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("Lock after the other process unlocked: %v", err)
	}
	if pid, ok := fl.Holder(); !ok || pid != os.Getpid() {
		t.Fatalf("Holder = %d, %v; want this process %d", pid, ok, os.Getpid())
	}
}

// waitingCtx is a context that tells when it is first asked for Done: Lock
// asks once its clock has started and it has found the lock held.
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

func TestFileLockCancel(t *testing.T) {
	_, d := newLockDir(t)
	holder := openLocked(t, d, "k")
	_ = holder
	fl, err := d.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &waitingCtx{Context: parent, waiting: make(chan struct{})}
	done := make(chan error, 1)
	begin := time.Now()
	go func() {
		done <- fl.Lock(ctx)
	}()
	select {
	case <-ctx.waiting:
	case err := <-done:
		t.Fatalf("Lock while held: %v; want it to wait", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Lock did not start waiting within 10s")
	}
	waiting := time.Now()
	time.Sleep(50 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotObtained) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Lock: %v; want ErrNotObtained, Canceled", err)
		}
		t.Logf("cancelled Lock returned %v after cancel; waited %v", time.Since(cancelled), fl.Waited())
		// Lock's clock started before it first asked for Done (waiting)
		// and stopped after the cancel, and Lock cannot have waited longer
		// than the test ran.
		if w, least := fl.Waited(), cancelled.Sub(waiting); w < least || w > time.Since(begin) {
			t.Fatalf("Waited = %v; want between %v and %v", w, least, time.Since(begin))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Lock still blocked 10s after cancel")
	}
}

func TestLockFileNeverRemoved(t *testing.T) {
	root, d := newLockDir(t)
	fl, err := d.Open("x/y")
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, err := fl.File().Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := root.Lstat(LockPath("x/y"))
	if err != nil {
		t.Fatalf("lock file after Close: %v; want it kept", err)
	}
	if !os.SameFile(before, after) {
		t.Fatalf("lock file replaced after Close")
	}
	if got := after.Mode().Perm(); got != 0o660 {
		t.Fatalf("lock file mode %v; want 0660", got)
	}
	di, err := root.Lstat(LocksDir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode()&os.ModeSetgid == 0 || di.Mode().Perm() != 0o770 {
		t.Fatalf("%s mode %v; want setgid 0770", LocksDir, di.Mode())
	}
}

func TestPlantedSymlinkRefused(t *testing.T) {
	outsideDir := t.TempDir()
	outside := filepath.Join(outsideDir, "victim")
	const content = "outside the root\n"
	if err := os.WriteFile(outside, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(outside)

	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string) // dir: the root
		open  func(t *testing.T, root *os.Root) error
	}{
		{"lock file to outside", func(t *testing.T, dir string) {
			mustMkdir(t, filepath.Join(dir, LocksDir))
			mustSymlink(t, outside, filepath.Join(dir, LockPath("k")))
		}, openKey},
		{"lock file to inside", func(t *testing.T, dir string) {
			mustMkdir(t, filepath.Join(dir, LocksDir))
			os.WriteFile(filepath.Join(dir, "data"), nil, 0o600)
			mustSymlink(t, "../../data", filepath.Join(dir, LockPath("k")))
		}, openKey},
		{"locks dir to outside", func(t *testing.T, dir string) {
			mustMkdir(t, filepath.Join(dir, StateDir))
			mustSymlink(t, outsideDir, filepath.Join(dir, LocksDir))
		}, openKey},
		{"state dir to outside", func(t *testing.T, dir string) {
			mustSymlink(t, outsideDir, filepath.Join(dir, StateDir))
		}, openKey},
		{"lock file is a fifo", func(t *testing.T, dir string) {
			mustMkdir(t, filepath.Join(dir, LocksDir))
			if err := mkfifo(filepath.Join(dir, LockPath("k")), 0o600); err != nil {
				t.Skip("mkfifo:", err)
			}
		}, openKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.plant(t, dir)
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			err = tc.open(t, root)
			if err == nil {
				t.Fatalf("opening the lock through a planted %s succeeded; want refused", tc.name)
			}
			t.Logf("refused: %v", err)
			got, rerr := os.ReadFile(outside)
			after, _ := os.Stat(outside)
			if rerr != nil || string(got) != content || after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
				t.Fatalf("outside file changed: %q %v", got, after.Mode())
			}
		})
	}
}

func openKey(t *testing.T, root *os.Root) error {
	d, err := OpenLockDir(root)
	if err != nil {
		return err
	}
	defer d.Close()
	fl, err := d.Open("k")
	if err != nil {
		return err
	}
	defer fl.Close()
	if err := fl.Lock(context.Background()); err != nil {
		return err
	}
	return fl.WriteCommitted(Version{Token: 1})
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
