package coordinator

import (
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

	id := newIntentID()
	in := txIntent{ID: id, Created: time.Now().UTC(), Host: "elsewhere", PID: 1,
		Entries: []txEntry{{Target: "victim", Temp: "payload", Token: 1, LeaseID: "planted"}}}
	if listsKey {
		mustWrite(t, filepath.Join(root, ".k.sw.h.1.1.00000000.tmp"), "staged")
		in.Entries = append(in.Entries, txEntry{Target: "k", Temp: ".k.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"})
	}
	if err := writeIntent(c.root.OS(), in); err != nil {
		t.Fatal(err)
	}
	fl, err := c.locks.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	p := locking.Version{Token: 1, LeaseID: "planted", SHA256: [32]byte{1}, Size: 1, Length: 1, Intent: id}
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
	if got := readFile(t, filepath.Join(root, "payload")); got != "planted" {
		t.Errorf("payload = %q; want it where it was", got)
	}
}
