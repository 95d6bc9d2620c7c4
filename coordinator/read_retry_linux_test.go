//go:build linux

package coordinator

import (
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestFreshReadRetryCounted: a transient error the fresh read retries
// (ESTALE on open, as an NFS client answers for a file replaced on the
// server) counts in sharedwrite.retries and is a "retry" step of the read.
// Before, the fresh read did not pass the retries on: nothing counted them.
func TestFreshReadRetryCounted(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
	tr := newTelRig(t)
	c := open(t, local, ffs.Dir, tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tr.counter(t, MetricRetries)
	// Twice: the kernel retries an ESTALE open once by itself.
	ffs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "f", Errno: syscall.ESTALE, Count: 2})
	got, err := c.ReadFile(ctx, "f")
	injected := ffs.Injected(faultfs.OpOpen)
	ffs.Clear()
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile = %q, %v; want the content after a retry", got, err)
	}
	if injected < 2 {
		t.Fatalf("ESTALE injected %d times; want 2 (no retry to count)", injected)
	}
	if n := tr.counter(t, MetricRetries) - before; n < 1 {
		t.Errorf("%s grew by %d over a read retried past ESTALE; want at least 1", MetricRetries, n)
	}
	retried := false
	for _, s := range tr.named("retry") {
		if p := s.Parent(); p.IsValid() {
			for _, r := range tr.named("read") {
				if r.SpanContext().SpanID() == p.SpanID() {
					retried = true
				}
			}
		}
	}
	if !retried {
		t.Errorf("no retry step under a read span")
	}
}
