package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTelemetry installs global tracer and meter providers configured from the
// standard OTEL_* variables (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER,
// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...). An unset exporter
// variable means "none": the CLI exports nothing unless asked to. "console"
// prints on stderr, not on stdout as elsewhere: stdout is the command's output
// (a file that read prints, a JSON document). The returned function flushes
// and shuts the providers down.
func setupTelemetry(ctx context.Context) (func(context.Context) error, error) {
	type flusher struct {
		what string // the signal and its exporter, for the error
		shut func(context.Context) error
	}
	var shutdowns []flusher
	shutdown := func(ctx context.Context) error {
		var errs []error
		for _, s := range shutdowns {
			if err := s.shut(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
			}
		}
		return errors.Join(errs...)
	}
	res, err := resource.Merge(resource.Default(), resource.Environment())
	if err != nil {
		res = resource.Default()
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	// An exporter that cannot be made is reported, and the rest set up as if
	// it were "none": the other signal's export and the spans' ids (which
	// log records carry) do not depend on it.
	var errs []error
	traced := false
	if exporterSet("OTEL_TRACES_EXPORTER") {
		exp, err := spanExporter(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("traces (OTEL_TRACES_EXPORTER=%s): %w", os.Getenv("OTEL_TRACES_EXPORTER"), err))
		} else if !autoexport.IsNoneSpanExporter(exp) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
			otel.SetTracerProvider(tp)
			shutdowns = append(shutdowns, flusher{"traces (OTEL_TRACES_EXPORTER=" + os.Getenv("OTEL_TRACES_EXPORTER") + ")", tp.Shutdown})
			traced = true
		}
	}
	if !traced {
		// Spans that are never recorded nor exported, but have ids: a log
		// record carries the trace_id and span_id of its operation, which
		// tie together the records of one operation (and of one command).
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithResource(res)))
	}
	if exporterSet("OTEL_METRICS_EXPORTER") {
		reader, err := metricReader(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("metrics (OTEL_METRICS_EXPORTER=%s): %w", os.Getenv("OTEL_METRICS_EXPORTER"), err))
		} else if !autoexport.IsNoneMetricReader(reader) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
			otel.SetMeterProvider(mp)
			shutdowns = append(shutdowns, flusher{"metrics (OTEL_METRICS_EXPORTER=" + os.Getenv("OTEL_METRICS_EXPORTER") + ")", mp.Shutdown})
		}
	}
	return shutdown, errors.Join(errs...)
}

// spanExporter is the exporter OTEL_TRACES_EXPORTER names; console's prints
// on stderr.
func spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if os.Getenv("OTEL_TRACES_EXPORTER") == "console" {
		return stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	}
	return autoexport.NewSpanExporter(ctx)
}

// metricReader is the reader OTEL_METRICS_EXPORTER names; console's prints
// on stderr (without OTEL_METRICS_PRODUCERS' producers).
func metricReader(ctx context.Context) (sdkmetric.Reader, error) {
	if os.Getenv("OTEL_METRICS_EXPORTER") == "console" {
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(os.Stderr))
		if err != nil {
			return nil, err
		}
		return sdkmetric.NewPeriodicReader(exp), nil
	}
	return autoexport.NewMetricReader(ctx)
}

// exporterSet reports whether the variable names an exporter other than "none".
// autoexport's own default for an unset variable is OTLP; the CLI's is none.
func exporterSet(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "none"
}

// telemetryLogger returns the logger OpenTelemetry's own reports go to (a
// variable it cannot parse, an export that failed), which the CLI's warnings
// about telemetry use too: l (--log-format, --log-level; OpenTelemetry's
// errors at error level) with every piece of a credential that an
// OTEL_EXPORTER_OTLP_* variable holds replaced by "xxxxx". OpenTelemetry's
// default logger prints on stderr, whole, a value it could not parse: a
// header that is an API key or a bearer token, an endpoint with a password.
func telemetryLogger(l *slog.Logger) *slog.Logger {
	return slog.New(&redactHandler{h: l.Handler(), secrets: otlpSecrets(os.Environ())})
}

// installTelemetryLogger makes tl (see telemetryLogger) OpenTelemetry's
// logger, before any exporter reads its variables.
func installTelemetryLogger(tl *slog.Logger) {
	otel.SetLogger(logr.FromSlogHandler(tl.Handler()))
}

// otlpSecrets returns what the OTEL_EXPORTER_OTLP_* variables of environ may
// hold of a credential, longest first: each headers variable's value, each of
// its comma-separated entries and the value of each (also unescaped, as the
// exporter reads it), and each endpoint's user information and password.
// Some of them are not secret; removing too much is the safe side.
func otlpSecrets(environ []string) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		out = append(out, s)
		for _, un := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if u, err := un(s); err == nil && u != s && strings.TrimSpace(u) != "" {
				out = append(out, strings.TrimSpace(u))
			}
		}
	}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "OTEL_EXPORTER_OTLP_") {
			continue
		}
		switch {
		case strings.HasSuffix(name, "HEADERS"):
			add(val)
			for _, entry := range strings.Split(val, ",") {
				add(entry)
				if _, v, ok := strings.Cut(entry, "="); ok {
					add(v)
				}
			}
		case strings.HasSuffix(name, "ENDPOINT"):
			// User information is everything before the last '@' (after
			// the scheme): a password holding '/', '?', '#' or '@' without
			// percent-encoding is still found whole.
			rest := val
			if _, r, ok := strings.Cut(val, "://"); ok {
				rest = r
			}
			if i := strings.LastIndex(rest, "@"); i >= 0 {
				add(rest[:i])
				if _, pass, ok := strings.Cut(rest[:i], ":"); ok {
					add(pass)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}

// minSecret is the length from which scrub replaces a secret inside text.
const minSecret = 4

// redactHandler passes records on to h with every secret removed from the
// message and from the attributes' values.
type redactHandler struct {
	h       slog.Handler
	secrets []string
}

func (r *redactHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

func (r *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	if len(r.secrets) == 0 {
		return r.h.Handle(ctx, rec)
	}
	nr := slog.NewRecord(rec.Time, rec.Level, r.scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, nr)
}

func (r *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = r.attr(a)
	}
	return &redactHandler{h: r.h.WithAttrs(out), secrets: r.secrets}
}

func (r *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: r.h.WithGroup(name), secrets: r.secrets}
}

// attr returns a with its value, or the values in its group, redacted: a
// value that is a piece of a secret (OpenTelemetry logs the part of a
// variable it refused) is "xxxxx" whole.
func (r *redactHandler) attr(a slog.Attr) slog.Attr {
	if len(r.secrets) == 0 {
		return a
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = r.attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindString, slog.KindAny:
		s := v.String()
		if r.isPiece(s) {
			return slog.String(a.Key, "xxxxx")
		}
		if c := r.scrub(s); c != s {
			return slog.String(a.Key, c)
		}
	}
	return a
}

// isPiece reports whether s is a non-empty piece of a secret.
func (r *redactHandler) isPiece(s string) bool {
	return s != "" && slices.ContainsFunc(r.secrets, func(sec string) bool { return strings.Contains(sec, s) })
}

// scrub replaces in s each secret, also as a Go string literal quotes it, and
// each quoted string that is a piece of one (an error that quotes the part it
// could not parse, `invalid URL escape "%zz"`). A secret shorter than
// minSecret is replaced only where it is a whole value or quoted string: a
// header "x-flag=1" would otherwise blank every "1" of a message.
func (r *redactHandler) scrub(s string) string {
	for _, sec := range r.secrets {
		if len(sec) < minSecret {
			continue
		}
		q := strconv.Quote(sec)
		for _, form := range []string{sec, q[1 : len(q)-1]} {
			s = strings.ReplaceAll(s, form, "xxxxx")
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '"' {
			if lit, err := strconv.QuotedPrefix(s[i:]); err == nil {
				if u, err := strconv.Unquote(lit); err == nil && r.isPiece(u) {
					b.WriteString(`"xxxxx"`)
				} else {
					b.WriteString(lit)
				}
				i += len(lit)
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
