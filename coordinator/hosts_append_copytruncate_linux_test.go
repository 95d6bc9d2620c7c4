//go:build linux

package coordinator

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestCopyTruncateKeepsRecordsAnotherHostAppended: host B appends to a log
// that host A last saw shorter (sshfs's default caches keep A's view of the
// size stale for up to ~20 s), then A rotates it with CopyTruncate. Every
// record B's Appender acknowledged is in the rotated copy or the live file,
// once: the copy reaches the committed length in the lock record, not the
// size A's mount still shows.
func TestCopyTruncateKeepsRecordsAnotherHostAppended(t *testing.T) {
	needRedis(t)
	h, ms := sshhost.Mounts(t, 2, sshhost.Default)
	export := open(t, rds, h.Export)
	hostA, hostB := open(t, rds, ms[0].Dir), open(t, rds, ms[1].Dir)
	ctx := ctxT(t, 20*time.Second)

	a := hostA.Appender("app.log")
	if err := a.Append(ctx, []byte("a 0\n")); err != nil {
		t.Fatalf("host A: Append: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("host A: Close: %v", err)
	}
	// Host A's mount caches the log's size as it is now.
	if _, err := os.Stat(ms[0].Path("app.log")); err != nil {
		t.Fatal(err)
	}
	b := hostB.Appender("app.log")
	const each = 20
	var res []<-chan error
	for i := range each {
		res = append(res, b.AppendAsync(fmt.Appendf(nil, "b %d\n", i)))
	}
	for i, ch := range res {
		if err := <-ch; err != nil {
			t.Fatalf("host B: Append %d: %v", i, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("host B: Close: %v", err)
	}

	r, err := hostA.Rotate(ctx, "app.log", CopyTruncate())
	if err != nil {
		t.Fatalf("host A: Rotate(CopyTruncate): %v", err)
	}
	if r.Name == "" {
		t.Fatalf("host A: Rotate(CopyTruncate) rotated nothing; want the log rotated")
	}
	lines, _ := logLines(t, export, "app.log")
	seen := checkRecords(t, lines)
	if got := len(seen["a"]); got != 1 {
		t.Errorf("host A's records after the rotation: got %d; want 1", got)
	}
	if got := len(seen["b"]); got != each {
		t.Errorf("host B's acknowledged records after host A's copytruncate rotation: got %d; want %d (lines %q)", got, each, lines)
	}
}
