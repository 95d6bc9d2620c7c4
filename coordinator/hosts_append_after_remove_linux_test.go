//go:build linux

package coordinator

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestAppendAfterRemoveOnAnotherHostStartsAtZero: host B appends to a log,
// host A removes it, and B appends again at once, while B's mount (sshfs's
// default caches) may still show the removed file and its size. The new log
// holds B's new records alone: no hole of zeros where the removed file's
// bytes were, and a committed length that is the new file's.
func TestAppendAfterRemoveOnAnotherHostStartsAtZero(t *testing.T) {
	needRedis(t)
	h, ms := sshhost.Mounts(t, 2, sshhost.Default)
	hostA, hostB := open(t, rds, ms[0].Dir), open(t, rds, ms[1].Dir)
	ctx := ctxT(t, 20*time.Second)

	b := hostB.Appender("app.log")
	defer b.Close()
	var res []<-chan error
	for i := range 10 {
		res = append(res, b.AppendAsync(fmt.Appendf(nil, "old %d\n", i)))
	}
	for i, ch := range res {
		if err := <-ch; err != nil {
			t.Fatalf("host B: Append %d: %v", i, err)
		}
	}
	// Host B's mount caches the log and its size as they are now.
	if _, err := os.Stat(ms[1].Path("app.log")); err != nil {
		t.Fatal(err)
	}
	if err := hostA.Remove(ctx, "app.log"); err != nil {
		t.Fatalf("host A: Remove: %v", err)
	}
	if err := b.Append(ctx, []byte("new 0\n")); err != nil {
		t.Fatalf("host B: Append after the removal: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(h.Export, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "new 0\n"; string(got) != want {
		t.Errorf("app.log after host A removed it and host B appended: got %q; want %q", got, want)
	}
	rec, err := hostB.peekRecord("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Committed.Length, int64(len("new 0\n")); got != want {
		t.Errorf("committed length %d; want %d", got, want)
	}
}
