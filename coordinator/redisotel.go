package coordinator

import (
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentRedis adds OpenTelemetry tracing and metrics to client with the
// statements left out of spans: a recorded statement would carry an AUTH
// password (and users' data). Nil providers mean the otel globals.
func InstrumentRedis(client redis.UniversalClient, tp trace.TracerProvider, mp metric.MeterProvider) error {
	topts := []redisotel.TracingOption{redisotel.WithDBStatement(false)}
	if tp != nil {
		topts = append(topts, redisotel.WithTracerProvider(tp))
	}
	if err := redisotel.InstrumentTracing(client, topts...); err != nil {
		return err
	}
	var mopts []redisotel.MetricsOption
	if mp != nil {
		mopts = append(mopts, redisotel.WithMeterProvider(mp))
	}
	return redisotel.InstrumentMetrics(client, mopts...)
}
