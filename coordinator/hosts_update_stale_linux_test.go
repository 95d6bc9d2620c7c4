//go:build linux

package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestUpdateOnAnotherHostReadsTheLastCommitThroughStaleCache: host B's mount
// (sshfs caching attributes and entries) caches a file just before host A
// updates or removes it. Host B's Update right after must be given A's
// commit — the new content, or no file — never the cached one: no lost
// update, no resurrected content.
func TestUpdateOnAnotherHostReadsTheLastCommitThroughStaleCache(t *testing.T) {
	needRedis(t)
	h, ms := sshhost.Mounts(t, 2, sshhost.Short)
	hostA, hostB := open(t, rds, ms[0].Dir), open(t, rds, ms[1].Dir)
	ctx := ctxT(t, 30*time.Second)
	for _, name := range []string{"updated", "removed"} {
		if err := hostA.WriteFile(ctx, name, []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Let host B's mount see both files, then cache them.
	time.Sleep(2500 * time.Millisecond)
	for _, name := range []string{"updated", "removed"} {
		if b, err := os.ReadFile(ms[1].Path(name)); err != nil || string(b) != "1" {
			t.Fatalf("host B: read %s = %q, %v", name, b, err)
		}
	}
	if err := hostA.Update(ctx, "updated", func(old []byte, _ bool) ([]byte, error) { return append(old, '2'), nil }); err != nil {
		t.Fatalf("host A: Update: %v", err)
	}
	if err := hostA.Remove(ctx, "removed"); err != nil {
		t.Fatalf("host A: Remove: %v", err)
	}

	if err := hostB.Update(ctx, "updated", func(old []byte, _ bool) ([]byte, error) { return append(old, '3'), nil }); err != nil {
		t.Fatalf("host B: Update: %v", err)
	}
	err := hostB.Update(ctx, "removed", func(old []byte, exists bool) ([]byte, error) {
		if exists {
			t.Errorf("host B: Update of the file host A removed saw %q; want no file", old)
		}
		return append(old, 'x'), nil
	})
	if err != nil {
		t.Fatalf("host B: Update: %v", err)
	}
	for name, want := range map[string]string{"updated": "123", "removed": "x"} {
		if b, err := os.ReadFile(filepath.Join(h.Export, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
}
