package cli

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// An OTEL_TRACES_EXPORTER the SDK does not know is reported, and the rest of
// the set-up still happens: OTEL_METRICS_EXPORTER is honoured, and spans still
// get ids (log records carry trace_id and span_id).
func TestTelemetryUnknownTracesExporterKeepsTheRest(t *testing.T) {
	// The providers set here stay global (otel refuses to set back its
	// default); every command's set-up replaces them, and shutdown below
	// stops the meter provider's reader.
	prop := otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTextMapPropagator(prop) })
	t.Setenv("OTEL_TRACES_EXPORTER", "no-such-exporter")
	t.Setenv("OTEL_METRICS_EXPORTER", "console")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdown, err := setupTelemetry(ctx)
	if shutdown != nil {
		defer shutdown(ctx) //nolint:errcheck // nothing recorded
	}
	if err == nil {
		t.Errorf("setupTelemetry with OTEL_TRACES_EXPORTER=no-such-exporter: nil error; want the unknown exporter reported")
	}
	_, span := otel.Tracer("test").Start(ctx, "op")
	defer span.End()
	if !span.SpanContext().IsValid() {
		t.Errorf("span after the set-up has no trace or span id (%v); want ids for the log records", span.SpanContext())
	}
	if _, ok := otel.GetMeterProvider().(*sdkmetric.MeterProvider); !ok {
		t.Errorf("meter provider after the set-up is %T; want the SDK's (OTEL_METRICS_EXPORTER=console)", otel.GetMeterProvider())
	}
}
