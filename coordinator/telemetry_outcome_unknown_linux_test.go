//go:build linux

package coordinator

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// An append batch whose pending version reached the lock record and could not
// be withdrawn returns ErrOutcomeUnknown (exit 1, not the "nothing committed"
// 4): the next holder commits it. Its span and its operation histogram say
// the outcome is unknown, not "not_committed": a dashboard counting failed
// appends as safe to retry would have them written twice.
func TestAppendOutcomeUnknownIsTheSpanOutcome(t *testing.T) {
	tr := newTelRig(t)
	fs, _, a, ctx := faultyLog(t, tr.opts()...)
	err := appendUnwithdrawn(t, fs, a, ctx)

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
