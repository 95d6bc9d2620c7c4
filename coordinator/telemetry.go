package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/sharedwrite/sharedwrite/coordinator"

// Span attribute keys.
const (
	AttrPath      = attribute.Key("sharedwrite.path")
	AttrKey       = attribute.Key("sharedwrite.key")
	AttrBytes     = attribute.Key("sharedwrite.bytes")
	AttrToken     = attribute.Key("sharedwrite.token")
	AttrLeaseWait = attribute.Key("sharedwrite.lease.wait_ms")
	AttrExdev     = attribute.Key("sharedwrite.exdev_fallback")
	AttrRollback  = attribute.Key("sharedwrite.rollback")
	AttrOutcome   = attribute.Key("sharedwrite.outcome")
	AttrOp        = attribute.Key("sharedwrite.op")
	AttrRaised    = attribute.Key("sharedwrite.floor.raised")
	AttrStep      = attribute.Key("sharedwrite.step")
)

// Outcomes recorded on spans and the operation histogram.
const (
	OutcomeCommitted    = "committed"
	OutcomeUnconfirmed  = "committed_unconfirmed"
	OutcomeNotCommitted = "not_committed"
	OutcomeRead         = "read"
	// OutcomeUnknown: the operation failed past the point where its change
	// may still take effect (ErrOutcomeUnknown): neither committed nor safe
	// to count as not committed.
	OutcomeUnknown = "unknown"
)

// Metric names.
const (
	MetricOpDuration   = "sharedwrite.operation.duration"
	MetricLeaseWait    = "sharedwrite.lease.wait"
	MetricLeaseLost    = "sharedwrite.lease.lost"
	MetricFenced       = "sharedwrite.fenced"
	MetricFloorRaised  = "sharedwrite.floor.raised"
	MetricStaleRetried = "sharedwrite.stale_reads.retried"
	MetricOutsideEdits = "sharedwrite.outside_edits.adopted"
	MetricExdev        = "sharedwrite.exdev_fallbacks"
	MetricRetries      = "sharedwrite.retries"
	MetricRollbacks    = "sharedwrite.rollbacks"
)

type telemetry struct {
	tracer       trace.Tracer
	opDuration   metric.Float64Histogram
	leaseWait    metric.Float64Histogram
	leaseLost    metric.Int64Counter
	fenced       metric.Int64Counter
	floorRaised  metric.Int64Counter
	staleRetried metric.Int64Counter
	outsideEdits metric.Int64Counter
	exdev        metric.Int64Counter
	retries      metric.Int64Counter
	rollbacks    metric.Int64Counter
}

func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*telemetry, error) {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	t := &telemetry{tracer: tp.Tracer(ScopeName)}
	var err error
	hist := func(name, desc string) metric.Float64Histogram {
		if err != nil {
			return nil
		}
		var h metric.Float64Histogram
		h, err = m.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"))
		return h
	}
	counter := func(name, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = m.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	t.opDuration = hist(MetricOpDuration, "Duration of a coordinated operation, by op and outcome.")
	t.leaseWait = hist(MetricLeaseWait, "Time spent waiting for a key's lease and file lock.")
	t.leaseLost = counter(MetricLeaseLost, "Leases lost (or too close to expiry) before a commit.")
	t.fenced = counter(MetricFenced, "Commits refused because a newer token began a commit.")
	t.floorRaised = counter(MetricFloorRaised, "Tokens raised past the volume's floor (Redis counter behind the volume).")
	t.staleRetried = counter(MetricStaleRetried, "Fresh reads retried because the file matched no recorded version.")
	t.outsideEdits = counter(MetricOutsideEdits, "Files edited outside sharedwrite, adopted after the stale-view window.")
	t.exdev = counter(MetricExdev, "Cross-device (EXDEV) copy fallbacks.")
	t.retries = counter(MetricRetries, "Transient errors retried.")
	t.rollbacks = counter(MetricRollbacks, "Operations rolled back (temps and created directories removed).")
	return t, err
}

// op is one operation's span and bookkeeping.
type op struct {
	t     *telemetry
	name  string
	start time.Time
	span  trace.Span
	// rolledBack: the operation's rollback is counted once, however many
	// steps (the temp, each directory it made) it undid.
	rolledBack atomic.Bool
}

func (t *telemetry) startOp(ctx context.Context, name, path string) (context.Context, *op) {
	ctx, span := t.tracer.Start(ctx, "sharedwrite."+name, trace.WithAttributes(AttrOp.String(name), AttrPath.String(path)))
	return ctx, &op{t: t, name: name, start: time.Now(), span: span}
}

// held records a taken key's token and how long the lease and lock took.
func (o *op) held(h *held) {
	o.span.SetAttributes(AttrToken.Int64(int64(h.lease.Token())), AttrLeaseWait.Float64(float64(h.waited.Microseconds())/1000))
}

// heldAll records the keys of an operation on several (a transaction): the
// keys joined with ",", the highest token and the longest lease wait.
func (o *op) heldAll(hs []*held) {
	keys := make([]string, len(hs))
	var tok uint64
	var wait time.Duration
	for i, h := range hs {
		keys[i] = h.key
		tok = max(tok, h.lease.Token())
		wait = max(wait, h.waited)
	}
	o.span.SetAttributes(AttrKey.String(strings.Join(keys, ",")), AttrToken.Int64(int64(tok)), AttrLeaseWait.Float64(float64(wait.Microseconds())/1000))
}

// end records the outcome, the error and the duration, and ends the span. A
// change not made visible whose error wraps ErrOutcomeUnknown is recorded as
// OutcomeUnknown: the next holder of the key may still commit it.
func (o *op) end(ctx context.Context, outcome string, err error) {
	if outcome == OutcomeNotCommitted && errors.Is(err, ErrOutcomeUnknown) {
		outcome = OutcomeUnknown
	}
	if err != nil {
		o.span.RecordError(err)
		o.span.SetStatus(codes.Error, err.Error())
	}
	o.span.SetAttributes(AttrOutcome.String(outcome))
	o.span.End()
	o.t.opDuration.Record(ctx, time.Since(o.start).Seconds(),
		metric.WithAttributes(AttrOp.String(o.name), AttrOutcome.String(outcome)))
}

// panicked records on the operation's span a panic p that goes on up to the
// caller: the deferred end sees no error, and the span would otherwise show
// an operation that ended without one.
func (o *op) panicked(p any) {
	err := fmt.Errorf("panic: %v", p)
	o.span.RecordError(err)
	o.span.SetStatus(codes.Error, err.Error())
}

// step starts a child span for one step of the write path. Under an
// operation span that is not recorded (no SDK installed, or sampled out) it
// starts none: the step's span would not be recorded either.
func (t *telemetry) step(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, unrecorded
	}
	return t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// unrecorded is a span that records nothing (the one a context without a
// span holds).
var unrecorded = trace.SpanFromContext(context.Background())

// endStep ends a step span, recording err.
func endStep(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// pastStep records a step that already happened (reported by the writer's
// Observe events) as a child span with its real start and end.
func (t *telemetry) pastStep(ctx context.Context, name string, dur time.Duration, err error, attrs ...attribute.KeyValue) {
	end := time.Now()
	_, span := t.tracer.Start(ctx, name, trace.WithTimestamp(end.Add(-dur)), trace.WithAttributes(attrs...))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(end))
}

func (t *telemetry) add(ctx context.Context, c metric.Int64Counter, attrs ...attribute.KeyValue) {
	c.Add(ctx, 1, metric.WithAttributes(attrs...))
}
