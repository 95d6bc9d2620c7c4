//go:build linux

package locking

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A key's first record is written into a lock file just made: its flush
// fsyncs the locks directory too, so that a crash cannot lose the file's name
// and with it the floor (in local mode the next token comes from it). Later
// record writes do not.
func TestFirstRecordFlushSyncsLocksDir(t *testing.T) {
	fsys := faultfs.Mount(t, faultfs.Options{})
	var mu sync.Mutex
	synced := 0
	// Observed, not failed: Match says no.
	fsys.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Match: func(rel string) bool {
		if rel == LocksDir {
			mu.Lock()
			synced++
			mu.Unlock()
		}
		return false
	}})
	t.Cleanup(fsys.Clear)
	root, err := os.OpenRoot(fsys.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	d, err := OpenLockDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	l, err := d.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return synced
	}
	before := count()
	if err := l.WriteFloorPending(Floor{Token: 1, LeaseID: "a"}, Version{Token: 1, LeaseID: "a"}); err != nil {
		t.Fatal(err)
	}
	if got := count() - before; got != 1 {
		t.Fatalf("fsyncs of %s with the first record's flush: %d; want 1", LocksDir, got)
	}
	if err := l.WriteFloorPending(Floor{Token: 2, LeaseID: "b"}, Version{Token: 2, LeaseID: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := count() - before; got != 1 {
		t.Errorf("fsyncs of %s after a second record write: %d; want still 1", LocksDir, got)
	}
}
