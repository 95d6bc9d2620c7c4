package coordinator

import (
	"context"
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
// on a goroutine of its own) ended the process, one panicking at "write" or
// "rename" left a temp, and a PreCommit hook panicking in a streaming
// File.Commit left the key held (flock and lease) for good.
func TestPanickingCallbacksReachTheCaller(t *testing.T) {
	for _, m := range modes {
		for _, step := range []string{"fsync", "write", "rename"} {
			t.Run(string(m)+"/Observe-"+step, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root, WithLeaseTTL(time.Minute))
				obs := writer.Observe(func(ev writer.Event) {
					if ev.Step == step {
						panic("observer at " + step)
					}
				})
				if got := recovered(func() { _ = c.WriteFile(ctxT(t, 10*time.Second), "k", []byte("x"), 0o644, obs) }); got != "observer at "+step {
					t.Errorf("recovered %v; want the observer's panic", got)
				}
				keyFreeAfterPanic(t, m, root, "k")
			})
		}
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
