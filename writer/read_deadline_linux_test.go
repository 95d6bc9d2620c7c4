//go:build linux

package writer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// TestReadVersionDeadlineDuringRead: a context that ends during a read, after
// a version that was not accepted, ends ReadVersion as one that ends during
// the wait between reads: ErrStaleView with the last version read, and the
// context's error.
func TestReadVersionDeadlineDuringRead(t *testing.T) {
	ffs, r := faultRoot(t)
	if err := r.WriteFile(faultCtx(t), "f", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := r.ReadVersion(ctx, "f", writer.Until(func(writer.Content) bool { return false }, 0),
		writer.Observe(func(ev writer.Event) {
			if ev.Step == "retry" {
				// The next read's open outlasts the deadline.
				ffs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "f", Delay: time.Second})
			}
		}))
	if !errors.Is(err, writer.ErrStaleView) || !errors.Is(err, context.DeadlineExceeded) || string(c.Data) != "old" {
		t.Errorf("ReadVersion with the deadline ending in a read: got %q, %v; want %q, ErrStaleView and DeadlineExceeded", c.Data, err, "old")
	}
	d := time.Since(start)
	if d < time.Second {
		t.Errorf("ReadVersion returned after %v, before a delayed open could end: the deadline did not end during a read", d)
	}
	if d > 10*time.Second {
		t.Errorf("ReadVersion with a 300ms deadline returned after %v", d)
	}
}
