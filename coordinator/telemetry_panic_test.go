package coordinator

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// TestSpanOfPanickedFunctionIsAnError: a panic in the function of Lock or
// Update goes on up to the caller; the operation's span says it failed (status
// Error, the panic recorded) instead of looking like an operation that ended
// without a commit and without an error.
func TestSpanOfPanickedFunctionIsAnError(t *testing.T) {
	for _, tc := range []struct {
		span string
		call func(ctx context.Context, c *Coordinator)
	}{
		{"sharedwrite.lock", func(ctx context.Context, c *Coordinator) {
			c.Lock(ctx, "k", func(context.Context, LeaseInfo) error { panic("bug in the function") }) //nolint:errcheck // it panics
		}},
		{"sharedwrite.update", func(ctx context.Context, c *Coordinator) {
			c.Update(ctx, "k", func([]byte, bool) ([]byte, error) { panic("bug in the function") }) //nolint:errcheck // it panics
		}},
	} {
		t.Run(tc.span, func(t *testing.T) {
			tr := newTelRig(t)
			c := open(t, local, t.TempDir(), tr.opts()...)
			ctx := ctxT(t, 30*time.Second)
			func() {
				defer func() {
					if p := recover(); p != "bug in the function" {
						t.Fatalf("recovered %v; want the function's panic", p)
					}
				}()
				tc.call(ctx, c)
			}()
			spans := tr.named(tc.span)
			if len(spans) != 1 {
				t.Fatalf("%d %s spans; want 1", len(spans), tc.span)
			}
			s := spans[0]
			if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "bug in the function") {
				t.Errorf("span status %v %q; want Error naming the panic", s.Status().Code, s.Status().Description)
			}
			recorded := false
			for _, e := range s.Events() {
				if e.Name == "exception" {
					recorded = true
				}
			}
			if !recorded {
				t.Errorf("span events %v; want the panic recorded", s.Events())
			}
		})
	}
}
