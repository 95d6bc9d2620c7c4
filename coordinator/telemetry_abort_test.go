package coordinator

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// A streamed write whose context ends while the caller is still reading its
// input (the CLI's write: --timeout passes, or a signal arrives, while stdin
// is blocked) is aborted by the caller without a failed Write. The operation
// failed for that reason (the CLI exits 3): its span records the error, and
// a lease lost meanwhile is counted.
func TestAbortAfterContextEndRecordsTheError(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		tr := newTelRig(t)
		c := open(t, local, t.TempDir(), tr.opts()...)
		ctx, cancel := context.WithTimeout(ctxT(t, 30*time.Second), 200*time.Millisecond)
		defer cancel()
		f, err := c.Create(ctx, "f", 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("part of the input")); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		checkFailedSpan(t, tr, "deadline exceeded")
	})
	t.Run("lease-lost", func(t *testing.T) {
		tr, c, f, ctx := tracedCreate(t, t.TempDir(), "f")
		if _, err := f.Write([]byte("part of the input")); err != nil {
			t.Fatal(err)
		}
		if err := loseLease(ctx, c, f); err != nil {
			t.Fatal(err)
		}
		<-f.octx.Done()
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		checkFailedSpan(t, tr, "lease lost")
		if got := tr.counter(t, MetricLeaseLost); got != 1 {
			t.Errorf("%s = %d after the lease was lost in the operation; want 1", MetricLeaseLost, got)
		}
	})
	t.Run("plain-abort", func(t *testing.T) {
		// An Abort by choice, its context alive, is no error.
		tr := newTelRig(t)
		c := open(t, local, t.TempDir(), tr.opts()...)
		f, err := c.Create(ctxT(t, 30*time.Second), "f", 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		ops := tr.named("sharedwrite.create")
		if len(ops) != 1 || ops[0].Status().Code == codes.Error {
			t.Fatalf("%d create spans, status %v; want 1, not an error", len(ops), ops[0].Status())
		}
	})
}

func checkFailedSpan(t *testing.T, tr *telRig, want string) {
	t.Helper()
	ops := tr.named("sharedwrite.create")
	if len(ops) != 1 {
		t.Fatalf("%d create spans; want 1", len(ops))
	}
	s := ops[0]
	out, _ := attr(s, string(AttrOutcome))
	if out != OutcomeNotCommitted {
		t.Errorf("span %s = %q; want %q", AttrOutcome, out, OutcomeNotCommitted)
	}
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, want) {
		t.Errorf("span of the aborted write: status %v %q; want Error naming %q", s.Status().Code, s.Status().Description, want)
	}
	recorded := false
	for _, e := range s.Events() {
		recorded = recorded || e.Name == "exception"
	}
	if !recorded {
		t.Errorf("span events %v; want the error recorded", s.Events())
	}
}
