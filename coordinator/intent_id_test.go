package coordinator

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A pending record naming an invalid intent id (a torn or planted record: the
// lock files are group-writable) is never turned into a path: the next holder
// must not remove whatever the id points at.
func TestPendingIntentInvalidIDRemovesNothing(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	mustWrite(t, filepath.Join(root, "victim"), "keep me")

	fl, err := c.locks.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	p := locking.Version{Token: 1, LeaseID: "planted", SHA256: [32]byte{1}, Size: 1, Length: 1, Intent: "../../victim"}
	if err := fl.WriteFloorPending(locking.Floor{Token: 1, LeaseID: "planted"}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	fl.Close()

	if err := c.WriteFile(ctx, "k", []byte("new"), 0o644); err != nil {
		t.Logf("WriteFile: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "victim")); got != "keep me" {
		t.Errorf("victim = %q; want it untouched", got)
	}
}
