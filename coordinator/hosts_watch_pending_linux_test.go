//go:build linux

package coordinator

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestWatchOnAnotherHostSkipsAFailedCommitsContent: host B's sshfs view of a
// file can show a new version cut at the old size for a while after a change.
// Host A commits a short version, then a longer one that starts with it, then
// starts a commit of the short content again whose rename fails: that version
// stays pending and never becomes visible. B's watcher must not take the cut
// view of the committed version for the failed one: it ends at the committed
// version, whole, and delivers nothing of the failed commit.
func TestWatchOnAnotherHostSkipsAFailedCommitsContent(t *testing.T) {
	needRedis(t)
	// Attributes cached for 2 s: the cut view lasts up to that long.
	h, ms := sshhost.Mounts(t, 1, sshhost.Short)
	fa := faultfs.Mount(t, faultfs.Options{Backing: h.Export})
	a := open(t, rds, fa.Dir)
	b := open(t, rds, ms[0].Dir, WithStaleWindow(4*time.Second))
	ctx := ctxT(t, time.Minute)
	short := []byte("settings: 1\n")
	long := []byte("settings: 1\nextra: 2\n")
	if err := a.WriteFile(ctx, "cfg", short, 0o644); err != nil {
		t.Fatal(err)
	}

	// The watcher is busy with the initial version while A commits: it
	// looks at the file again only once the failed commit is over.
	var mu sync.Mutex
	var got []Change
	first, gate := make(chan struct{}), make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(wctx, "cfg", func(_ context.Context, ch Change) error {
			mu.Lock()
			got = append(got, ch)
			n := len(got)
			mu.Unlock()
			if n == 1 {
				close(first)
				<-gate
			}
			return nil
		}, WatchInitial(), WatchInterval(50*time.Millisecond))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-first:
	case err := <-done:
		t.Fatalf("Watch returned %v before the initial version", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no initial version within 30s")
	}

	if err := a.WriteFile(ctx, "cfg", long, 0o644); err != nil {
		t.Fatal(err)
	}
	fa.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "cfg"})
	err := a.WriteFile(ctx, "cfg", short, 0o644)
	fa.Clear()
	if err == nil {
		t.Fatal("the write whose rename fails succeeded")
	}
	if got := readFile(t, fa.Backed("cfg")); got != string(long) {
		t.Fatalf("file after the failed write is %q; want %q", got, long)
	}
	close(gate)

	// The committed version is the last: the watcher must end there.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		chs := append([]Change(nil), got...)
		mu.Unlock()
		last := chs[len(chs)-1]
		if string(last.Data) == string(long) {
			checkOrder(t, chs)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not end at the last committed version %q within 20s; delivered %s", long, describe(chs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
