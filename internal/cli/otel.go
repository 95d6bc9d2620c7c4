package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

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
