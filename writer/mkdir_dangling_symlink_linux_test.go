//go:build linux

package writer_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// A dangling symlink that another process puts where MkdirAll is about to
// make a directory (between the name's resolution and the mkdir) is EEXIST on
// something that is not a directory: refused at once, never retried until the
// deadline as if a directory had vanished after its mkdir.
func TestMkdirAllRefusesDanglingSymlinkPlantedAtComponent(t *testing.T) {
	ffs, r := faultRoot(t)
	var once sync.Once
	var plantErr error
	ffs.Set(faultfs.Fault{
		Op:   faultfs.OpMkdir,
		Glob: "a/b",
		Match: func(rel string) bool {
			once.Do(func() { plantErr = os.Symlink("missing", ffs.Backed("a/b")) })
			return false
		},
	})
	var mu sync.Mutex
	retries := 0
	obs := writer.Observe(func(ev writer.Event) {
		if ev.Step == "retry" {
			mu.Lock()
			retries++
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := r.MkdirAll(ctx, "a/b/c", 0o755, obs)
	ffs.Clear()
	if plantErr != nil {
		t.Fatalf("plant the symlink: %v", plantErr)
	}
	t.Logf("MkdirAll: %v", err)
	if err == nil {
		t.Fatal("MkdirAll through a dangling symlink = nil; want an error")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("MkdirAll = %v; want a refusal, not the deadline", err)
	}
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("errors.Is(err, ENOTDIR) = false; err: %v", err)
	}
	mu.Lock()
	n := retries
	mu.Unlock()
	if n != 0 {
		t.Errorf("retries = %d; want 0 (EEXIST on a non-directory is never retried)", n)
	}
	if target, err := os.Readlink(ffs.Backed("a/b")); err != nil || target != "missing" {
		t.Errorf("a/b afterwards: %q, %v; want the planted symlink kept", target, err)
	}
	if _, err := os.Lstat(ffs.Backed("missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}
