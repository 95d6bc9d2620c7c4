package coordinator

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A well-formed intent planted on the volume (the tx directory and the lock
// files are group-writable) that names files which are not staged temps of
// their targets, or does not name the key whose pending record points at it,
// is not completed: it must not rename arbitrary files over others.
func TestPlantedIntentNotCompleted(t *testing.T) {
	for _, listsKey := range []bool{false, true} {
		t.Run(map[bool]string{false: "key not listed", true: "key listed"}[listsKey], func(t *testing.T) {
			testPlantedIntent(t, listsKey)
		})
	}
}

func testPlantedIntent(t *testing.T, listsKey bool) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	mustWrite(t, filepath.Join(root, "victim"), "keep me")
	mustWrite(t, filepath.Join(root, "payload"), "planted")

	in := txIntent{Entries: []txEntry{{Target: "victim", Temp: "payload", Token: 1, LeaseID: "planted"}}}
	if listsKey {
		mustWrite(t, filepath.Join(root, ".k.sw.h.1.1.00000000.tmp"), "staged")
		in.Entries = append(in.Entries, txEntry{Target: "k", Temp: ".k.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"})
	}
	plantIntent(t, c, ctx, in)

	if err := c.WriteFile(ctx, "k", []byte("new"), 0o644); err != nil {
		t.Logf("WriteFile: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "victim")); got != "keep me" {
		t.Errorf("victim = %q; want it untouched", got)
	}
	if got := readFile(t, filepath.Join(root, "payload")); got != "planted" {
		t.Errorf("payload = %q; want it where it was", got)
	}
}

// plantIntent writes in (its id, time and host filled in here) as a
// transaction intent and a pending record of key "k" naming it, as a planted
// or crashed transaction would leave them.
func plantIntent(t *testing.T, c *Coordinator, ctx context.Context, in txIntent) {
	t.Helper()
	in.ID, in.Created, in.Host, in.PID = newIntentID(), time.Now().UTC(), "elsewhere", 1
	if err := writeIntent(c.root.OS(), in); err != nil {
		t.Fatal(err)
	}
	fl, err := c.locks.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if err := fl.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	defer fl.Unlock()
	p := locking.Version{Token: 1, LeaseID: "planted", SHA256: [32]byte{1}, Size: 1, Length: 1, Intent: in.ID}
	if err := fl.WriteFloorPending(locking.Floor{Token: 1, LeaseID: "planted"}, p); err != nil {
		t.Fatal(err)
	}
}

// lockRecord takes key's file lock directly (as a holder that is about to
// crash would hold it) and returns it with the record it holds; the lock file
// is closed at the test's end.
func lockRecord(t *testing.T, c *Coordinator, ctx context.Context, key string) (*locking.FileLock, locking.Record) {
	t.Helper()
	fl, err := c.locks.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	if err := fl.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := fl.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	return fl, rec
}
