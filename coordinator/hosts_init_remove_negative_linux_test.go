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

// TestRemoveAfterInitOnAnotherHostThroughNegativeLookupCache: another host
// has created a file with InitOnce (the committed record says it exists)
// while this host's view still says "no such file" (a negative lookup cache,
// as NFS keeps for a while). Remove must remove it, waiting out the stale
// view, not report that there is no such file.
func TestRemoveAfterInitOnAnotherHostThroughNegativeLookupCache(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
	c := open(t, local, ffs.Dir, WithStaleWindow(10*time.Second))
	ctx := ctxT(t, time.Minute)

	if _, err := c.InitOnce(ctx, "cfg.json", func(context.Context) ([]byte, error) { return []byte("A"), nil }); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Second)
	ffs.Set(faultfs.Fault{Op: faultfs.OpLookup, Glob: "cfg.json", Errno: syscall.ENOENT,
		Match: func(string) bool { return time.Now().Before(until) }})
	t.Cleanup(ffs.Clear)

	if err := c.Remove(ctx, "cfg.json"); err != nil {
		t.Fatalf("Remove of a file the committed record says exists: %v", err)
	}
	if _, err := os.Stat(ffs.Backed("cfg.json")); !os.IsNotExist(err) {
		t.Fatalf("cfg.json after Remove: stat = %v; want no such file", err)
	}
}
