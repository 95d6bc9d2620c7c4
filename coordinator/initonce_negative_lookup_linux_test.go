//go:build linux

package coordinator

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// negativeLookupVolume mounts the fault filesystem (file locks forwarded to
// the backing files) and opens a local-mode coordinator on it with a 10 s
// stale-view window.
func negativeLookupVolume(t *testing.T) (*faultfs.FS, *Coordinator) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
	return ffs, open(t, local, ffs.Dir, WithStaleWindow(10*time.Second))
}

// hideFor makes lookups of name on ffs fail with ENOENT for d from now, as
// a negative lookup cache (NFS, sshfs) hides a file another host created.
func hideFor(t *testing.T, ffs *faultfs.FS, name string, d time.Duration) {
	t.Helper()
	until := time.Now().Add(d)
	ffs.Set(faultfs.Fault{Op: faultfs.OpLookup, Glob: name, Errno: syscall.ENOENT,
		Match: func(string) bool { return time.Now().Before(until) }})
	t.Cleanup(ffs.Clear)
}

// TestInitOnceLostRaceReturnsWinnerThroughNegativeLookupCache: the volume's
// view still says "no such file" (a negative lookup cache, as NFS and sshfs
// keep for a while) when another host, which does not share this mount's
// locks, has created the file. The create-only commit fails with EEXIST;
// InitOnce must then return the winner's content, read through the stale
// view, never an empty "content" with no error.
func TestInitOnceLostRaceReturnsWinnerThroughNegativeLookupCache(t *testing.T) {
	ffs, c := negativeLookupVolume(t)
	ctx := ctxT(t, time.Minute)

	const winner = `{"creator":"other host"}`
	if err := os.WriteFile(ffs.Backed("cfg.json"), []byte(winner), 0o644); err != nil {
		t.Fatal(err)
	}
	hideFor(t, ffs, "cfg.json", 2*time.Second)

	got, err := c.InitOnce(ctx, "cfg.json", func(context.Context) ([]byte, error) {
		return []byte(`{"creator":"this host"}`), nil
	})
	if err != nil {
		t.Fatalf("InitOnce: %v; want the winner's content", err)
	}
	if string(got) != winner {
		t.Fatalf("InitOnce = %q; want the winner's %q", got, winner)
	}
	if b, err := os.ReadFile(ffs.Backed("cfg.json")); err != nil || string(b) != winner {
		t.Fatalf("cfg.json = %q, %v; want the winner's %q kept", b, err, winner)
	}
}

// TestInitOnceAfterLostRaceFindsWinnerRecorded: a create-only commit that
// lost the race under a negative lookup cache had already written its
// record (the baseline "no file" and its own pending version) before the
// link found the winner's file. The winner's file, returned to that call,
// must count as the key's version for the calls after it: in strict mode a
// later InitOnce, Update or ReadFile must return it, not refuse it as a file
// edited outside sharedwrite (ErrStaleView).
func TestInitOnceAfterLostRaceFindsWinnerRecorded(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
	c := open(t, local, ffs.Dir, WithStaleWindow(3*time.Second), Strict())
	ctx := ctxT(t, time.Minute)

	const winner = `{"creator":"other host"}`
	if err := os.WriteFile(ffs.Backed("cfg.json"), []byte(winner), 0o644); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Second)
	ffs.Set(faultfs.Fault{Op: faultfs.OpLookup, Glob: "cfg.json", Errno: syscall.ENOENT,
		Match: func(string) bool { return time.Now().Before(until) }})
	t.Cleanup(ffs.Clear)
	gen := func(context.Context) ([]byte, error) { return []byte(`{"creator":"this host"}`), nil }

	if got, err := c.InitOnce(ctx, "cfg.json", gen); err != nil || string(got) != winner {
		t.Fatalf("first InitOnce = %q, %v; want the winner's %q", got, err, winner)
	}
	time.Sleep(time.Until(until))
	ffs.Clear()

	if got, err := c.InitOnce(ctx, "cfg.json", gen); err != nil || string(got) != winner {
		t.Fatalf("InitOnce after the lost race = %q, %v; want the winner's %q", got, err, winner)
	}
	if got, err := c.ReadFile(ctx, "cfg.json"); err != nil || string(got) != winner {
		t.Fatalf("ReadFile after the lost race = %q, %v; want the winner's %q", got, err, winner)
	}
	err := c.Update(ctx, "cfg.json", func(old []byte, exists bool) ([]byte, error) {
		if !exists || string(old) != winner {
			t.Errorf("Update saw %q (exists %v); want the winner's %q", old, exists, winner)
		}
		return old, nil
	})
	if err != nil {
		t.Fatalf("Update after the lost race: %v", err)
	}
}
