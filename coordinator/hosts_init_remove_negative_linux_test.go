//go:build linux

package coordinator

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestRemoveAfterInitOnAnotherHostThroughNegativeLookupCache: another host
// has created a file with InitOnce (the committed record says it exists)
// while this host's view still says "no such file" (a negative lookup cache,
// as NFS keeps for a while). Remove must remove it, waiting out the stale
// view, not report that there is no such file.
func TestRemoveAfterInitOnAnotherHostThroughNegativeLookupCache(t *testing.T) {
	ffs, c := negativeLookupVolume(t)
	ctx := ctxT(t, time.Minute)

	if _, err := c.InitOnce(ctx, "cfg.json", func(context.Context) ([]byte, error) { return []byte("A"), nil }); err != nil {
		t.Fatal(err)
	}
	hideFor(t, ffs, "cfg.json", time.Second)

	if err := c.Remove(ctx, "cfg.json"); err != nil {
		t.Fatalf("Remove of a file the committed record says exists: %v", err)
	}
	if _, err := os.Stat(ffs.Backed("cfg.json")); !os.IsNotExist(err) {
		t.Fatalf("cfg.json after Remove: stat = %v; want no such file", err)
	}
}
