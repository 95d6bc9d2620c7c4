//go:build unix

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// deadlineHook is a context whose Deadline method calls fn first. MkdirAll
// asks for the deadline before its first mkdir, and openLog makes a missing
// log's directory there: between its check of the name and its open.
type deadlineHook struct {
	context.Context
	fn func()
}

func (d deadlineHook) Deadline() (time.Time, bool) {
	d.fn()
	return d.Context.Deadline()
}

// appendHooked appends data to key as an Appender's batch does (under the
// key's lease and lock, at its committed state), appendHeld running under a
// deadlineHook calling fn.
func appendHooked(ctx context.Context, c *Coordinator, lf **logFile, key string, data []byte, fn func()) error {
	return c.run(ctx, "append", key, func(ctx context.Context, h *held, _ *op) (*locking.Version, error) {
		st, err := c.logState(ctx, h)
		if err != nil {
			return nil, err
		}
		return c.appendHeld(deadlineHook{ctx, fn}, h, lf, st, data, logPerm{mode: 0o644})
	})
}

// A symlink put at a missing log's name between openLog's check and its open
// (to another file of the root, which os.Root follows even with O_NOFOLLOW,
// or to a missing one, which O_CREATE would make): the append fails, writes
// nothing through the symlink and makes no file at its target; once the name
// is free again the next append goes to the log. Also with a stale-view
// window, where the append trusts the record and checks no inode before it
// writes (as on a network filesystem).
func TestAppendNeverOpensLogThroughSymlink(t *testing.T) {
	for _, window := range []time.Duration{0, time.Second} {
		for _, target := range []string{"victim.txt", "made.txt"} {
			t.Run(window.String()+"/"+target, func(t *testing.T) {
				root := t.TempDir()
				victim := filepath.Join(root, "victim.txt")
				mustWrite(t, victim, "victim\n")
				live := filepath.Join(root, "logs", "app.log")
				if err := os.Mkdir(filepath.Dir(live), 0o755); err != nil {
					t.Fatal(err)
				}
				c := open(t, local, root, WithStaleWindow(window))
				ctx := ctxT(t, 30*time.Second)

				swapped := false
				swap := func() {
					if swapped {
						return
					}
					swapped = true
					if err := os.Symlink("../"+target, live); err != nil {
						t.Error(err)
					}
				}
				var lf *logFile
				defer func() { lf.close() }()
				err := appendHooked(ctx, c, &lf, "logs/app.log", []byte("batch\n"), swap)
				if !swapped {
					t.Fatalf("append = %v; the name was never swapped", err)
				}
				if err == nil || !strings.Contains(err.Error(), "logs/app.log") {
					t.Errorf("append through a symlink = %v; want an error naming logs/app.log", err)
				}
				if target == "victim.txt" && !errors.Is(err, syscall.ELOOP) {
					t.Errorf("append through a symlink = %v; want ELOOP", err)
				}
				if got := readFile(t, victim); got != "victim\n" {
					t.Errorf("victim.txt holds %q after the append; want it as written", got)
				}
				if _, err := os.Lstat(filepath.Join(root, "made.txt")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("made.txt: %v; want none made at the symlink's target", err)
				}

				if err := os.Remove(live); err != nil {
					t.Fatal(err)
				}
				if err := appendHooked(ctx, c, &lf, "logs/app.log", []byte("next\n"), func() {}); err != nil {
					t.Fatalf("append once the name is free: %v", err)
				}
				if got := readFile(t, live); got != "next\n" {
					t.Errorf("app.log holds %q; want %q", got, "next\n")
				}
				if got := readFile(t, victim); got != "victim\n" {
					t.Errorf("victim.txt holds %q; want it as written", got)
				}
			})
		}
	}
}
