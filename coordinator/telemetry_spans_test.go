package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// childrenOf counts the ended spans whose parent is op, by name.
func spanChildren(tr *telRig, op sdktrace.ReadOnlySpan) map[string]int {
	out := map[string]int{}
	for _, s := range tr.spans.Ended() {
		if s.Parent().SpanID() == op.SpanContext().SpanID() {
			out[s.Name()]++
		}
	}
	return out
}

func spanSummary(tr *telRig) string {
	var lines []string
	for _, s := range tr.spans.Ended() {
		lines = append(lines, s.Name()+" parent="+s.Parent().SpanID().String()+" id="+s.SpanContext().SpanID().String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// A streamed write (Create, Write, Commit: what the CLI's write does) has the
// documented children under its operation span, commit included, whatever
// context Commit is given.
func TestStreamCommitChildSpans(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			tr := newTelRig(t)
			c := open(t, m, t.TempDir(), tr.opts()...)
			ctx := ctxT(t, 30*time.Second)
			f, err := c.Create(ctx, "f", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := f.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			ops := tr.named("sharedwrite.create")
			if len(ops) != 1 {
				t.Fatalf("%d create spans; want 1", len(ops))
			}
			ch := spanChildren(tr, ops[0])
			var missing []string
			for _, name := range []string{"lease", "flock", "floor", "write", "fsync", "commit", "rename", "dirsync", "release"} {
				if ch[name] == 0 {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				t.Errorf("create span lacks children %q; children: %v\nall spans:\n%s", missing, ch, spanSummary(tr))
			}
			for _, s := range tr.spans.Ended() {
				if !s.Parent().IsValid() && !strings.HasPrefix(s.Name(), "sharedwrite.") {
					t.Errorf("step span %q is a root span (no parent); want it under the operation's span", s.Name())
				}
			}
		})
	}
}

// One aborted streamed write (its temp and the three directories created for
// it removed) is one rollback.
func TestRollbackCountedOncePerOperation(t *testing.T) {
	tr := newTelRig(t)
	c := open(t, local, t.TempDir(), tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	f, err := c.Create(ctx, "a/b/c/f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	ops := tr.named("sharedwrite.create")
	if len(ops) != 1 {
		t.Fatalf("%d create spans; want 1", len(ops))
	}
	if v, _ := attr(ops[0], string(AttrRollback)); v != "true" {
		t.Errorf("create span %s = %q; want true", AttrRollback, v)
	}
	if got := tr.counter(t, MetricRollbacks); got != 1 {
		t.Errorf("%s = %d after one operation rolled back; want 1 (rollback child spans: %d)", MetricRollbacks, got, len(tr.named("rollback")))
	}
}

// An Append batch's operation span carries the bytes written and the write
// and fsync steps.
func TestAppendSpan(t *testing.T) {
	tr := newTelRig(t)
	c := open(t, local, t.TempDir(), tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("log")
	if err := a.Append(ctx, []byte("line one\n")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	ops := tr.named("sharedwrite.append")
	if len(ops) != 1 {
		t.Fatalf("%d append spans; want 1", len(ops))
	}
	if v, ok := attr(ops[0], string(AttrBytes)); !ok || v != "9" {
		t.Errorf("append span %s = %q (set %v); want 9", AttrBytes, v, ok)
	}
	ch := spanChildren(tr, ops[0])
	for _, name := range []string{"lease", "flock", "floor", "write", "fsync", "commit", "release"} {
		if ch[name] == 0 {
			t.Errorf("append span lacks a %q child; children: %v", name, ch)
		}
	}
}

// A logger whose handler is NewLogHandler's, then given a group (as a caller
// scoping the library's records does), still puts trace_id and span_id at the
// top level of each record, where log/trace correlation looks for them.
func TestLogHandlerWithGroup(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).WithGroup("sharedwrite")
	tr := newTelRig(t)
	ctx, span := tr.tp.Tracer("test").Start(context.Background(), "op")
	logger.InfoContext(ctx, "hello", "k", "v")
	span.End()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	want := trace.SpanContextFromContext(ctx)
	if rec["trace_id"] != want.TraceID().String() || rec["span_id"] != want.SpanID().String() {
		t.Errorf("record %s: top-level trace_id %v, span_id %v; want %s, %s", strings.TrimSpace(buf.String()), rec["trace_id"], rec["span_id"], want.TraceID(), want.SpanID())
	}
}
