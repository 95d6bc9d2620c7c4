//go:build linux

package locking

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// On a FUSE filesystem, turns of one lease taken by many goroutines at once
// exclude each other and follow one another, also where the filesystem
// refuses to unlink the turn file (EBUSY, as where an open file cannot be
// removed): the file then stays, and each next turn takes it; where unlink
// works, none is left.
func TestTurnOnFUSE(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		name := "unlink"
		if refuse {
			name = "unlink refused"
		}
		t.Run(name, func(t *testing.T) { testTurnOnFUSE(t, refuse) })
	}
}

func testTurnOnFUSE(t *testing.T, refuse bool) {
	fsys := faultfs.Mount(t, faultfs.Options{})
	if refuse {
		fsys.Set(faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EBUSY, Glob: "*.turn"})
	}
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

	var mu sync.Mutex
	in, most := 0, 0
	var wg sync.WaitGroup
	errs := make(chan error, 4*10)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				end, err := d.Turn(ctx, "k", "lease-1")
				cancel()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				in++
				most = max(most, in)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
				mu.Lock()
				in--
				mu.Unlock()
				end.End()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Turn = %v", err)
	}
	if most != 1 {
		t.Errorf("%d turns held at once; want 1", most)
	}
	turns, _ := filepath.Glob(filepath.Join(fsys.Dir, LocksDir, "*.turn"))
	if refuse {
		if fsys.Injected(faultfs.OpUnlink) == 0 {
			t.Error("no unlink of a turn file was refused: the rig did not apply")
		}
		if len(turns) != 1 {
			t.Errorf("turn files after every turn ended: %v; want the one whose unlink was refused", turns)
		}
	} else if len(turns) != 0 {
		t.Errorf("turn files left: %v", turns)
	}
}
