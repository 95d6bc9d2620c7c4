package coordinator

import (
	"slices"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentRedis adds OpenTelemetry tracing and metrics to client with the
// statements left out of spans: a recorded statement would carry an AUTH
// password (and users' data). Nil providers mean the otel globals.
func InstrumentRedis(client redis.UniversalClient, tp trace.TracerProvider, mp metric.MeterProvider) error {
	topts := []redisotel.TracingOption{
		redisotel.WithDBStatement(false),
		// A connection is dialled by the pool, outside any operation: its
		// span was the root of a trace of its own. A failed dial is the
		// error of the command that needed it.
		redisotel.WithDialFilter(true),
		redisotel.WithCommandFilter(connectionSetup),
		redisotel.WithCommandsFilter(func(cmds []redis.Cmder) bool {
			return len(cmds) > 0 && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !connectionSetup(c) })
		}),
	}
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

// connectionSetup reports whether cmd is one go-redis sends on its own to set
// up a connection (HELLO, AUTH, SELECT, READONLY, CLIENT SETINFO and the
// like). They get no span: not the operation's work, and a server that does
// not know one (CLIENT SETINFO before Redis 7.2) answers with an error that
// go-redis ignores but a span would report as a failure on every connection.
func connectionSetup(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "hello", "auth", "select", "readonly", "client":
		return true
	}
	return false
}
