package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTelemetryWrite(t *testing.T) {
	root := t.TempDir()
	tr := newTelRig(t)
	c := open(t, rds, root, tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "dir/f", []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := tr.named("sharedwrite.write")
	if len(ops) != 1 {
		t.Fatalf("%d sharedwrite.write spans; want 1", len(ops))
	}
	op := ops[0]
	for k, want := range map[string]string{
		string(AttrPath): "dir/f", string(AttrKey): "dir/f", string(AttrBytes): "5",
		string(AttrOutcome): OutcomeCommitted, string(AttrToken): "",
	} {
		got, ok := attr(op, k)
		if !ok || (want != "" && got != want) {
			t.Errorf("attribute %s = %q (present %v); want %q", k, got, ok, want)
		}
	}
	children := map[string]int{}
	for _, s := range tr.spans.Ended() {
		if s.Parent().SpanID() == op.SpanContext().SpanID() {
			children[s.Name()]++
		}
	}
	for _, name := range []string{"lease", "flock", "floor", "read", "write", "fsync", "commit", "rename", "dirsync", "release"} {
		if name == "read" {
			continue // WriteFile does not read
		}
		if children[name] == 0 {
			t.Errorf("no %q child span; children: %v", name, children)
		}
	}
	if n := tr.histogramCount(t, MetricOpDuration); n != 1 {
		t.Errorf("%s count = %d; want 1", MetricOpDuration, n)
	}
	if n := tr.histogramCount(t, MetricLeaseWait); n != 1 {
		t.Errorf("%s count = %d; want 1", MetricLeaseWait, n)
	}
}

// An outside edit, adopted with a warning: the log record carries the trace
// and span ids of the operation, and the adoption is counted.
func TestLogCarriesTraceID(t *testing.T) {
	root := t.TempDir()
	tr := newTelRig(t)
	var buf bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	c := open(t, local, root, append(tr.opts(), WithLogger(logger))...)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "f"), "edited outside") // not through sharedwrite
	var seen string
	if err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) { seen = string(old); return old, nil }); err != nil {
		t.Fatal(err)
	}
	if seen != "edited outside" {
		t.Fatalf("Update read %q; want the adopted outside edit", seen)
	}
	if got := tr.counter(t, MetricOutsideEdits); got != 1 {
		t.Fatalf("%s = %d; want 1", MetricOutsideEdits, got)
	}
	var rec map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err == nil && strings.Contains(r["msg"].(string), "edited outside") {
			rec = r
		}
	}
	if rec == nil {
		t.Fatalf("no warning about the outside edit in the log:\n%s", buf.String())
	}
	ops := tr.named("sharedwrite.update")
	if len(ops) != 1 {
		t.Fatalf("%d update spans; want 1", len(ops))
	}
	if got, want := rec["trace_id"], ops[0].SpanContext().TraceID().String(); got != want {
		t.Fatalf("log trace_id = %v; want %s", got, want)
	}
	if sid, _ := rec["span_id"].(string); len(sid) != 16 {
		t.Fatalf("log span_id = %v; want 16 hex digits", rec["span_id"])
	}
}

// In Strict mode the outside edit is refused instead.
func TestStrictRefusesOutsideEdit(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, Strict())
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "f"), "edited outside")
	called := false
	err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) { called = true; return old, nil })
	if err == nil || called || !isStale(err) {
		t.Fatalf("Update = %v (fn called %v); want ErrStaleView before fn", err, called)
	}
	_ = os.Remove
	_ = context.Background
}

func isStale(err error) bool { return errors.Is(err, ErrStaleView) }
