package coordinator

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// recovered runs f and returns what it panicked with.
func recovered(f func()) (got any) {
	defer func() { got = recover() }()
	f()
	return nil
}

// keyFreeAfterPanic checks that key can be written at once by another
// coordinator (the lease TTL is a minute) and that no temp is left in root.
func keyFreeAfterPanic(t *testing.T, m mode, root, key string) {
	t.Helper()
	if temps := tempsIn(t, root); len(temps) > 0 {
		t.Errorf("temps left after the panic: %q", temps)
	}
	start := time.Now()
	if err := open(t, m, root).WriteFile(ctxT(t, 10*time.Second), key, []byte("next"), 0o644); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("another coordinator's WriteFile after the panic: %v after %v; want it at once", err, time.Since(start).Round(time.Millisecond))
	}
}

// TestPanickingCallbacksReachTheCaller: a panic in a caller's writer option
// (an Observe function, a PreCommit hook) goes on to the caller of the
// operation, which recovers it; the temp is removed and the key released.
// Before, an observer panicking at the "fsync" step of WriteFile (which runs
// on a goroutine of its own when the temp is written while the key is taken)
// ended the process, one panicking at "write" or
// "rename" left a temp, and a PreCommit hook panicking in a streaming
// File.Commit left the key held (flock and lease) for good.
func TestPanickingCallbacksReachTheCaller(t *testing.T) {
	for _, m := range modes {
		for _, early := range []bool{false, true} {
			for _, step := range []string{"fsync", "write", "rename"} {
				t.Run(fmt.Sprintf("%s/early=%v/Observe-%s", m, early, step), func(t *testing.T) {
					root := t.TempDir()
					c := open(t, m, root, WithLeaseTTL(time.Minute))
					setOverlap(c, early) // the temp written while the key is taken (Redis mode)
					var inGoroutine bool
					obs := writer.Observe(func(ev writer.Event) {
						if ev.Step == step {
							inGoroutine = bytes.Contains(debug.Stack(), []byte("startWrite"))
							panic("observer at " + step)
						}
					})
					if got := recovered(func() { _ = c.WriteFile(ctxT(t, 10*time.Second), "k", []byte("x"), 0o644, obs) }); got != "observer at "+step {
						t.Errorf("recovered %v; want the observer's panic", got)
					}
					if want := early && m == rds && step == "fsync"; inGoroutine != want {
						t.Errorf("the panic came from the early write's goroutine: %v; want %v", inGoroutine, want)
					}
					keyFreeAfterPanic(t, m, root, "k")
				})
			}
		}
		t.Run(string(m)+"/Observe-Move", func(t *testing.T) {
			// Before, a Move whose observer panicked kept both keys held.
			root := t.TempDir()
			c := open(t, m, root, WithLeaseTTL(time.Minute))
			if err := c.WriteFile(ctxT(t, 10*time.Second), "src", []byte("moved"), 0o644); err != nil {
				t.Fatal(err)
			}
			obs := writer.Observe(func(ev writer.Event) {
				if ev.Step == "rename" {
					panic("observer at the move")
				}
			})
			if got := recovered(func() { _ = c.Move(ctxT(t, 10*time.Second), filepath.Join(root, "src"), "dst", obs) }); got != "observer at the move" {
				t.Errorf("recovered %v; want the observer's panic", got)
			}
			keyFreeAfterPanic(t, m, root, "dst")
			keyFreeAfterPanic(t, m, root, "src")
		})
		t.Run(string(m)+"/PreCommit-File", func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithLeaseTTL(time.Minute))
			hook := writer.PreCommit(func(context.Context, writer.Change) error { panic("hook") })
			f, err := c.Create(ctxT(t, 10*time.Second), "k", 0o644, hook)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			if got := recovered(func() { _ = f.Commit(ctxT(t, 10*time.Second)) }); got != "hook" {
				t.Errorf("recovered %v; want the hook's panic", got)
			}
			keyFreeAfterPanic(t, m, root, "k")
		})
	}
}
