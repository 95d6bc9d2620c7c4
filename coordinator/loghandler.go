package coordinator

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// NewLogHandler wraps h so that every record logged with a context that carries
// a span gets trace_id and span_id attributes, at the top level of the record
// also when the logger has groups (WithGroup): where log and trace correlation
// looks for them.
func NewLogHandler(h slog.Handler) slog.Handler { return &logHandler{h: h} }

// logHandler keeps the attributes and groups given to it (goas, outermost
// first) instead of passing them to h, so that it can put the trace ids
// outside the groups.
type logHandler struct {
	h    slog.Handler
	goas []groupOrAttrs
}

type groupOrAttrs struct {
	group string      // a WithGroup's name, or
	attrs []slog.Attr // a WithAttrs's attributes
}

func (l *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *logHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if len(l.goas) == 0 && !sc.IsValid() {
		return l.h.Handle(ctx, r)
	}
	// The record's attributes, nested in the groups, after the attributes
	// given outside each.
	var cur []slog.Attr
	r.Attrs(func(a slog.Attr) bool { cur = append(cur, a); return true })
	for i := len(l.goas) - 1; i >= 0; i-- {
		if g := l.goas[i]; g.group != "" {
			if len(cur) > 0 {
				cur = []slog.Attr{slog.Attr{Key: g.group, Value: slog.GroupValue(cur...)}}
			}
		} else {
			cur = append(append([]slog.Attr(nil), g.attrs...), cur...)
		}
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(cur...)
	if sc.IsValid() {
		nr.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.h.Handle(ctx, nr)
}

func (l *logHandler) with(g groupOrAttrs) *logHandler {
	goas := make([]groupOrAttrs, len(l.goas), len(l.goas)+1)
	copy(goas, l.goas)
	return &logHandler{h: l.h, goas: append(goas, g)}
}

func (l *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return l
	}
	return l.with(groupOrAttrs{attrs: attrs})
}

func (l *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return l
	}
	return l.with(groupOrAttrs{group: name})
}
