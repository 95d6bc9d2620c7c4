//go:build linux

package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestInitOnceAfterRemoveOnAnotherHostCreatesThroughStaleEntry: host A
// creates a file with InitOnce and removes it, while host B's mount (sshfs
// caching attributes and entries) still shows the file. Host B's InitOnce
// right after must create the file with its own generator and return that:
// its cached entry makes link(2) fail with EEXIST without asking the server,
// and that is no winner to wait for.
func TestInitOnceAfterRemoveOnAnotherHostCreatesThroughStaleEntry(t *testing.T) {
	needRedis(t)
	h, ms := sshhost.Mounts(t, 2, sshhost.Short)
	hostA, hostB := open(t, rds, ms[0].Dir), open(t, rds, ms[1].Dir)
	ctx := ctxT(t, 20*time.Second)
	gen := func(s string) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { return []byte(s), nil }
	}

	if _, err := hostA.InitOnce(ctx, "cfg.json", gen("first")); err != nil {
		t.Fatalf("host A: InitOnce: %v", err)
	}
	// Let host B's mount see the file, then cache it.
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.ReadFile(ms[1].Path("cfg.json")); err != nil {
		t.Fatal(err)
	}
	if err := hostA.Remove(ctx, "cfg.json"); err != nil {
		t.Fatalf("host A: Remove: %v", err)
	}
	got, err := hostB.InitOnce(ctx, "cfg.json", gen("second"))
	if err != nil || string(got) != "second" {
		t.Fatalf("host B: InitOnce after host A removed the file = %q, %v; want %q", got, err, "second")
	}
	if b, err := os.ReadFile(filepath.Join(h.Export, "cfg.json")); err != nil || string(b) != "second" {
		t.Fatalf("cfg.json = %q, %v; want %q", b, err, "second")
	}
	// The file host B created is the key's committed version: a strict read
	// on host A (once its own cache has caught up) returns it.
	rec, err := hostA.peekRecord("cfg.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Deleted || rec.Committed.Size != int64(len("second")) {
		t.Fatalf("committed record after host B's InitOnce = %+v; want the file host B created", rec.Committed)
	}
}
