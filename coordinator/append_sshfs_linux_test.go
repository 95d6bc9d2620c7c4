//go:build linux

package coordinator

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// TestAppendTwoSSHFSHosts: two sshfs mounts of one export with sshfs's
// default caching (another mount's view is stale for up to ~20 s, and flocks
// do not cross the mounts) act as two hosts appending to one log with Redis,
// while one of them rotates: no record lost, duplicated or interleaved.
func TestAppendTwoSSHFSHosts(t *testing.T) {
	needRedis(t)
	h, ms := sshhost.Mounts(t, 2, sshhost.Default)
	export := open(t, rds, h.Export)
	hosts := []*Coordinator{open(t, rds, ms[0].Dir), open(t, rds, ms[1].Dir)}
	ctx := ctxT(t, 2*time.Minute)
	const goroutines, each = 3, 120
	var wg sync.WaitGroup
	for hi, c := range hosts {
		a := c.Appender("app.log")
		t.Cleanup(func() { a.Close() })
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := a.Append(ctx, fmt.Appendf(nil, "h%d.g%d %d\n", hi, g, i)); err != nil {
						t.Errorf("host %d: Append: %v", hi, err)
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
		}
	}
	rotated := 0
	for range 2 {
		time.Sleep(400 * time.Millisecond)
		r, err := hosts[1].Rotate(ctx, "app.log")
		if err != nil {
			t.Fatalf("Rotate through mount B: %v", err)
		}
		if r.Name != "" {
			rotated++
		}
	}
	wg.Wait()
	for i, m := range ms {
		if !m.Mounted() {
			t.Fatalf("mount %d is gone", i)
		}
	}
	lines, files := logLines(t, export, "app.log")
	seen := checkRecords(t, lines)
	for hi := range hosts {
		for g := range goroutines {
			w := fmt.Sprintf("h%d.g%d", hi, g)
			if got := len(seen[w]); got != each {
				t.Errorf("writer %s: got %d records; want %d", w, got, each)
			}
		}
	}
	if files < 2 || rotated == 0 {
		t.Errorf("records in %d files after %d rotations; want the rotations to split them", files, rotated)
	}
	t.Logf("%d lines in %d files", len(lines), files)
}
