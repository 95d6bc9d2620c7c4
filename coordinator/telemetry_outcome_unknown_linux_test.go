//go:build linux

package coordinator

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An append batch whose pending version reached the lock record and could not
// be withdrawn returns ErrOutcomeUnknown (exit 1, not the "nothing committed"
// 4): the next holder commits it. Its span and its operation histogram say
// the outcome is unknown, not "not_committed": a dashboard counting failed
// appends as safe to retry would have them written twice.
func TestAppendOutcomeUnknownIsTheSpanOutcome(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	tr := newTelRig(t)
	c := open(t, local, fs.Dir, tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	t.Cleanup(func() { a.Close() })
	if err := a.Append(ctx, []byte("one 1\n")); err != nil {
		t.Fatal(err)
	}
	fs.Set(
		faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Count: 1},
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1},
	)
	err := a.Append(ctx, []byte("two 2\n"))
	fs.Clear()
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Append = %v; want ErrOutcomeUnknown", err)
	}

	spans := tr.named("sharedwrite.append")
	if len(spans) != 2 {
		t.Fatalf("%d append spans; want 2", len(spans))
	}
	if got, _ := attr(spans[1], string(AttrOutcome)); got != OutcomeUnknown {
		t.Errorf("span of the batch that returned %v: %s = %q; want %q", err, AttrOutcome, got, OutcomeUnknown)
	}
	var rm metricdata.ResourceMetrics
	if err := tr.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == MetricOpDuration {
				for _, dp := range h.DataPoints {
					v, _ := dp.Attributes.Value(attribute.Key(AttrOutcome))
					outcomes[v.AsString()] += dp.Count
				}
			}
		}
	}
	if outcomes[OutcomeCommitted] != 1 || outcomes[OutcomeUnknown] != 1 || outcomes[OutcomeNotCommitted] != 0 {
		t.Errorf("%s by outcome: %v; want 1 %s and 1 %s", MetricOpDuration, outcomes, OutcomeCommitted, OutcomeUnknown)
	}
}
