//go:build linux

package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// faultHosts mounts a new directory (backing) twice with the fault
// filesystem, as two hosts whose file locks do not meet, and opens a
// Redis-mode coordinator on each mount: a on ma, b on the other.
func faultHosts(t *testing.T) (backing string, ma *faultfs.FS, a, b *Coordinator) {
	t.Helper()
	backing = t.TempDir()
	ma = faultfs.Mount(t, faultfs.Options{Backing: backing})
	mb := faultfs.Mount(t, faultfs.Options{Backing: backing})
	return backing, ma, open(t, rds, ma.Dir), open(t, rds, mb.Dir)
}

// inPlaceLeftovers lists the in-place marker and backup files in dir.
func inPlaceLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".sw-inplace.") {
			names = append(names, e.Name())
		}
	}
	return names
}

// Two mounts of one directory whose flocks do not cross (as two hosts on
// sshfs, or on NFS with local locks) and Redis: host A rewrites a
// bind-mounted file in place (InPlaceIfBusy) and is paused after its marker
// and backup are made, before the target is touched. Host B's read and
// sweep hold no lease, and the flock A holds on its backup does not reach
// them: they must leave A's marker and backup alone (settling them would
// leave A's rewrite with nothing to restore a crash from, or restore the
// backup over it while it writes). B's read is a whole version; B's sweep
// waits for A's lease.
func TestInPlaceRewriteOfOneHostNotSettledByAnotherWithoutTheLease(t *testing.T) {
	needRedis(t)
	backing, ma, a, b := faultHosts(t)
	ctx := ctxT(t, time.Minute)
	if err := a.WriteFile(ctx, "conf", []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// As a container sees a file bind-mounted into it: a rename onto it
	// fails with EBUSY.
	target := filepath.Join(ma.Dir, "conf")
	testrig.BindMount(t, target, target)

	paused, resume := make(chan struct{}), make(chan struct{})
	hook := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
		if ch.Op == "inplace" {
			close(paused)
			<-resume
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- a.WriteFile(ctx, "conf", []byte("v2\n"), 0o644, writer.InPlaceIfBusy(), hook) }()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("in-place write ended before its hook: %v", err)
	case <-ctx.Done():
		t.Fatal("in-place write never reached its hook")
	}
	resumed := false
	defer func() {
		if !resumed {
			close(resume)
			<-done
		}
	}()
	before := inPlaceLeftovers(t, backing)
	if len(before) != 2 {
		t.Fatalf("in-place files while A rewrites: %v; want its marker and backup", before)
	}

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	got, err := b.ReadFile(rctx, "conf")
	cancel()
	if err != nil || string(got) != "v1\n" && string(got) != "v2\n" {
		t.Errorf("host B's read during A's rewrite: %q, %v; want a whole version", got, err)
	}
	if left := inPlaceLeftovers(t, backing); len(left) != 2 {
		t.Errorf("in-place files after host B's read: %v; want A's marker and backup left (%v)", left, before)
	}
	// B's sweep waits for the lease A holds, as a sweep on A's host waits
	// for the flock on the backup: a live rewrite is left to finish.
	swept := make(chan error, 1)
	go func() {
		_, err := b.Sweep(ctx, 0)
		swept <- err
	}()
	select {
	case err := <-swept:
		t.Errorf("host B's sweep returned during A's rewrite: %v; want it to wait for A's lease", err)
		swept <- nil
	case <-time.After(500 * time.Millisecond):
	}
	if left := inPlaceLeftovers(t, backing); len(left) != 2 {
		t.Errorf("in-place files during host B's sweep: %v; want A's marker and backup left (%v)", left, before)
	}

	resumed = true
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("host A's in-place write: %v", err)
	}
	select {
	case err := <-swept:
		if err != nil {
			t.Errorf("host B's sweep: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("host B's sweep did not return once A's rewrite ended")
	}
	if got := readFile(t, filepath.Join(backing, "conf")); got != "v2\n" {
		t.Errorf("conf after A's rewrite: %q; want %q", got, "v2\n")
	}
	if left := inPlaceLeftovers(t, backing); len(left) != 0 {
		t.Errorf("in-place files after A's rewrite: %v; want none", left)
	}
}
