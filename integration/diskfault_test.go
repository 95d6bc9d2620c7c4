//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestDiskFaults runs concurrent increments of a counter on a FUSE filesystem
// that fails one operation: EIO or ENOSPC on a write or an fsync of a temp
// file, EXDEV on the rename, EINVAL on the directory fsync. The operation that
// meets the fault has the right outcome (not committed, or committed with
// durability unconfirmed: exit 7), its error names the path and the errno, the
// counter keeps every committed increment and nothing else, and no temp file
// is left.
func TestDiskFaults(t *testing.T) {
	cases := []struct {
		label     string
		fault     faultfs.Fault
		code      int    // exit code of the operation that meets the fault
		errText   string // the errno as the message spells it
		committed bool
		path      string // the path the message names, quoted; "" for the counter or its temp
	}{
		{"write-EIO", faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO}, 1, "input/output error", false, ""},
		{"write-ENOSPC", faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC}, 1, "no space left on device", false, ""},
		{"fsync-EIO", faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO}, 1, "input/output error", false, ""},
		{"fsync-ENOSPC", faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.ENOSPC}, 1, "no space left on device", false, ""},
		{"rename-EXDEV", faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV}, 1, "cross-device link", false, ""},
		{"dirsync-EINVAL", faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL, Glob: "."}, 7, "invalid argument", true, `directory "."`},
	}
	rounds := pick(4, 10)
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			fig := figures(t)
			ffs := faultfs.Mount(t, faultfs.Options{})
			v := newVol(t, ffs.Dir, "", "--timeout", "30s")
			if r := v.run(t, "0\n", "write", "counter"); r.code != 0 {
				t.Fatalf("write counter: exit %d: %s", r.code, r.stderr)
			}
			committed := 0
			for round := range rounds {
				f := c.fault
				if f.Glob == "" {
					f.Glob = "*.tmp" // temps only: the lock records are not the subject
				}
				// The fault fires once, at a moment that moves with the round.
				f.Skip, f.Count = round%3, 1
				ffs.Set(f)
				injectedBefore := ffs.Injected(f.Op)
				res := concurrentUpdates(t, v, fig, 4, 3)
				ffs.Clear()
				injected := ffs.Injected(f.Op) - injectedBefore
				if injected != 1 {
					t.Fatalf("round %d: the fault fired %d times; want 1", round, injected)
				}
				var faulted []result
				for _, r := range res {
					switch {
					case r.code == 0:
						committed++
					case r.code == c.code:
						faulted = append(faulted, r)
						if c.committed {
							committed++
						}
					default:
						t.Errorf("round %d: update: exit %d; want 0 or %d: %s", round, r.code, c.code, r.stderr)
					}
				}
				if len(faulted) != 1 {
					t.Errorf("round %d: %d operations exited %d; want 1 (the one that met the fault)", round, len(faulted), c.code)
				}
				for _, r := range faulted {
					fig.Refusals.Add(1)
					t.Logf("round %d: %s", round, strings.TrimSpace(r.stderr))
					if !strings.Contains(r.stderr, c.errText) {
						t.Errorf("round %d: stderr %q; want the errno (%q)", round, r.stderr, c.errText)
					}
					if c.path != "" && !strings.Contains(r.stderr, c.path) ||
						c.path == "" && !strings.Contains(r.stderr, `"counter"`) && !strings.Contains(r.stderr, `".counter.sw.`) {
						t.Errorf("round %d: stderr %q; want it to name the path", round, r.stderr)
					}
				}
				if left := temps(t, ffs.Backing); len(left) > 0 {
					fig.Temps.Add(int64(len(left)))
					t.Errorf("round %d: temp files left: %q", round, left)
				}
				checkCounter(t, fig, filepath.Join(ffs.Backing, "counter"), committed)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// concurrentUpdates runs procs processes that each run n increments of the
// counter (no retries) and returns their results.
func concurrentUpdates(t *testing.T, v vol, fig *Figures, procs, n int) []result {
	t.Helper()
	var (
		mu  sync.Mutex
		out []result
		wg  sync.WaitGroup
	)
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				fig.Ops.Add(1)
				r := v.run(t, "", "update", "counter", "--", "sh", "-c", `n=$(cat); echo $((${n:-0} + 1))`)
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// readInt reads a decimal integer file.
func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := firstInt(b)
	if err != nil {
		t.Fatalf("%s: %q: %v", path, b, err)
	}
	return n
}
