//go:build linux

package writer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func fdCount(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// runAsNobody runs this test binary's test named test as uid/gid 65534 with
// SW_EDGE_CHILD=mode and SW_EDGE_DIR=dir, and returns its combined output.
func runAsNobody(t *testing.T, test, mode, dir string) (string, error) {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bdir, err := os.MkdirTemp("", "sw-edge-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bdir) })
	os.Chmod(bdir, 0o755)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(bdir, "w.test")
	if err := os.WriteFile(cp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cp, "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SW_EDGE_CHILD="+mode, "SW_EDGE_DIR="+dir)
	cmd.Dir = bdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A writer that dies after File.Sync of a read-only file (perm 0444) leaves a
// temp of mode 0444 owned by its user; Sweep run by that same user removes
// the orphan (it opened it O_WRONLY to flock it, got EACCES and kept it).
func TestSweepRemovesReadOnlyOrphanOfNonRoot(t *testing.T) {
	switch os.Getenv("SW_EDGE_CHILD") {
	case "write":
		r, err := Open(os.Getenv("SW_EDGE_DIR"))
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(2)
		}
		f, err := r.Create(context.Background(), "conf", 0o444)
		if err != nil {
			fmt.Println("create:", err)
			os.Exit(2)
		}
		f.Write([]byte("data"))
		if err := f.Sync(); err != nil {
			fmt.Println("sync:", err)
			os.Exit(2)
		}
		os.Exit(0) // the writer dies before Commit: its temp is an orphan
	case "sweep":
		r, err := Open(os.Getenv("SW_EDGE_DIR"))
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(2)
		}
		rep, err := r.Sweep(context.Background(), 0)
		fmt.Printf("report %+v err %v\n", rep, err)
		os.Exit(0)
	case "":
	default:
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run the writer and the sweeper as another user")
	}
	base, err := os.MkdirTemp("", "sw-edge-sweep")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	dir := filepath.Join(base, "vol")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	out, err := runAsNobody(t, "TestSweepRemovesReadOnlyOrphanOfNonRoot", "write", dir)
	if err != nil {
		t.Fatalf("writer child: %v\n%s", err, out)
	}
	left := temps(t, dir)
	if len(left) != 1 {
		t.Fatalf("want one orphan temp after the writer died, got %v", left)
	}
	fi, _ := os.Stat(left[0])
	t.Logf("orphan %s mode %v", filepath.Base(left[0]), fi.Mode())
	out, err = runAsNobody(t, "TestSweepRemovesReadOnlyOrphanOfNonRoot", "sweep", dir)
	t.Logf("sweeper: %s", strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("sweeper child: %v", err)
	}
	if tt := temps(t, dir); len(tt) > 0 {
		t.Errorf("Sweep by the temp's own (non-root) user left the orphan %v: its writer is dead, no one holds its flock", tt)
	}
}

// A PreCommit hook that panics: WriteFile removes its temp (it was left,
// flocked by a descriptor no one could close, so Sweep counted it live
// forever) and the directories it created, and the panic goes on.
func TestPreCommitPanicCleansUp(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	before := fdCount(t)
	var got any
	func() {
		defer func() { got = recover() }()
		_ = r.WriteFile(ctx, "new/f", []byte("x"), 0o644, PreCommit(func(context.Context, Change) error { panic("hook bug") }))
	}()
	if got != "hook bug" {
		t.Errorf("recovered %v; want the hook's panic passed on to the caller", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "new/f")); err == nil {
		t.Fatal("committed despite the panic")
	}
	rep, err := r.Sweep(ctx, 0)
	t.Logf("sweep after the panic: %+v %v", rep, err)
	noTemps(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Errorf("directory %q created by the call left after the panic", "new")
	}
	if after := fdCount(t); after > before {
		t.Errorf("descriptors: %d before, %d after the panicking WriteFile", before, after)
	}
}

// The same for Move (its created directories stayed) and PublishDir (its
// temp symlink, version directory and created directories stayed).
func TestPreCommitPanicMovePublishCleanUp(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(src, []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := PreCommit(func(context.Context, Change) error { panic("hook bug") })
	for name, op := range map[string]func(){
		"Move":       func() { _ = r.Move(ctx, src, "m1/m2/dst", boom) },
		"PublishDir": func() { _ = r.PublishDir(ctx, "p1/pub", func(string) error { return nil }, 1, boom) },
	} {
		var got any
		func() {
			defer func() { got = recover() }()
			op()
		}()
		if got != "hook bug" {
			t.Errorf("%s: recovered %v; want the hook's panic passed on to the caller", name, got)
		}
	}
	if got := snapshotOpt(t, dir, false); len(got) != 1 {
		t.Errorf("after panicking hooks the root should be empty again; it holds %v", got)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("source: %v", err)
	}
}

// Root.Close: "Files created through it and not yet committed stay usable
// until they are committed or aborted." (Commit and Abort both failed with
// "file already closed", and the temps and directories stayed.)
func TestCloseKeepsPendingFilesUsable(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := r.Create(ctx, "a/f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	g, err := r.Create(ctx, "b/g", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Errorf("Commit after Root.Close: %v", err)
	} else if got := readString(t, filepath.Join(dir, "a/f")); got != "data" {
		t.Errorf("a/f = %q", got)
	}
	if err := g.Abort(); err != nil {
		t.Errorf("Abort after Root.Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Errorf("Abort left the directory b")
	}
	noTemps(t, dir)
}

// A directory swapped for a symlink leaving the root while an operation runs
// is refused (nothing outside changes) with ErrOutsideRoot (it was os.Root's
// bare "path escapes from parent", holding none of the package's sentinels).
func TestSwappedSymlinkEscapeIsErrOutsideRoot(t *testing.T) {
	r, dir := openRoot(t)
	outside := t.TempDir()
	ctx := context.Background()
	mustWrite(t, filepath.Join(outside, "f"), "OUT", 0o644)
	so := snapshot(t, outside)
	n := 0
	reset := func() {
		os.Remove(filepath.Join(dir, "d"))
		mustWrite(t, filepath.Join(dir, "d/f"), "IN", 0o644)
	}
	swap := func(context.Context, Change) error {
		n++
		if err := os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, fmt.Sprintf("moved%d", n))); err != nil {
			return err
		}
		return os.Symlink(outside, filepath.Join(dir, "d"))
	}
	reset()
	err := r.Remove(ctx, "d/f", PreCommit(swap))
	if !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("Remove with d swapped for a symlink out of the root: %v; want ErrOutsideRoot", err)
	}
	reset()
	err = r.WriteFile(ctx, "d/f", []byte("new"), 0o644, PreCommit(swap))
	if !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("WriteFile with d swapped for a symlink out of the root: %v; want ErrOutsideRoot", err)
	}
	if got := snapshot(t, outside); !maps.Equal(so, got) {
		t.Errorf("outside the root changed:\nbefore %v\nafter  %v", so, got)
	}
}

// Names in errors are escaped so that a newline cannot forge a log line.
// Move's "replaced or changed since it was checked" error embedded the
// os.Lstat *PathError (raw name) and an errors.Join (another newline).
func TestMoveErrorEscapesSourceName(t *testing.T) {
	r, _ := openRoot(t)
	src := filepath.Join(t.TempDir(), "evil\nlevel=ERROR msg=forged")
	if err := os.WriteFile(src, []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.Move(context.Background(), src, "dst", PreCommit(func(context.Context, Change) error { return os.Remove(src) }))
	if err == nil {
		t.Fatal("Move of a source removed before the rename succeeded")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error message holds a raw newline: %q", err.Error())
	}
}

// MkdirAll whose retry (a parent vanished under it) is interrupted by the
// context returns its error on one line, the name escaped (it returned
// errors.Join(os *PathError, ctx error): the name raw, on several lines).
func TestMkdirAllRetryErrorEscapesName(t *testing.T) {
	r, dir := openRoot(t)
	name := "p\nlevel=ERROR msg=forged"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // another party removing the (empty) directories again
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			os.Remove(filepath.Join(dir, name, "c", "d"))
			os.Remove(filepath.Join(dir, name, "c"))
			os.Remove(filepath.Join(dir, name))
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	retried := false
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		hit := false
		err := r.MkdirAll(ctx, name+"/c/d", 0o755, Observe(func(ev Event) {
			if ev.Step == "retry" {
				hit = true
				cancel() // the caller gives up during the backoff
			}
		}))
		cancel()
		if !hit || err == nil {
			continue
		}
		retried = true
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error message holds a raw newline: %q", err.Error())
		}
		break
	}
	if !retried {
		t.Skip("no retry happened within 10s")
	}
}

// Sweep's error with a cancelled context is an *Error naming the step and
// the path (it was the bare context error).
func TestSweepCancelledErrorIsError(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "f"), "x", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Sweep(ctx, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sweep with a cancelled context: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("Sweep with a cancelled context returned %T %q, not an *Error naming the step and path", err, err)
	}
}

// PublishDir with an already cancelled context does not call fill (the
// caller's possibly long work), as WriteFile, Remove, MkdirAll and Move do
// nothing then. (For a top-level name it called fill first.)
func TestPublishDirCancelledDoesNotFill(t *testing.T) {
	r, dir := openRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := r.PublishDir(ctx, "pub", func(string) error { called = true; return nil }, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("PublishDir with a cancelled context: %v", err)
	}
	if called {
		t.Errorf("fill was called although the context was already cancelled")
	}
	if got := snapshotOpt(t, dir, false); len(got) != 1 {
		t.Errorf("root changed: %v", got)
	}
}
