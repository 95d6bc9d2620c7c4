package coordinator

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkWriteInterleaved measures the bare atomic write, the coordinated
// WriteFile in local and Redis mode and a Redis PING side by side: each
// iteration runs one of each, in a rotating order, so a machine whose load
// or disk latency drifts during the run affects all four alike. It reports
// the medians (µs) and their ratios; ns/op is the sum of the four.
//
// SHAREDWRITE_BENCH_DIR puts the roots on another filesystem (e.g. a tmpfs).
func BenchmarkWriteInterleaved(b *testing.B) {
	dir := func() string {
		parent := os.Getenv("SHAREDWRITE_BENCH_DIR")
		if parent == "" {
			return b.TempDir()
		}
		d, err := os.MkdirTemp(parent, "bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	ctx := context.Background()
	payload := make([]byte, 4096)
	bare := open(b, local, dir()).Writer()
	cl := open(b, local, dir())
	cr := open(b, rds, dir())
	ping := redis.NewClient(&redis.Options{Addr: needRedis(b).Addr(), DisableIdentity: true})
	b.Cleanup(func() { ping.Close() })
	ops := []struct {
		name string
		fn   func() error
	}{
		{"bare", func() error { return bare.WriteFile(ctx, "f", payload, 0o644) }},
		{"local", func() error { return cl.WriteFile(ctx, "f", payload, 0o644) }},
		{"redis", func() error { return cr.WriteFile(ctx, "f", payload, 0o644) }},
		{"ping", func() error { return ping.Ping(ctx).Err() }},
	}
	durs := make([][]time.Duration, len(ops))
	i := 0
	for b.Loop() {
		for j := range ops {
			k := (i + j) % len(ops)
			start := time.Now()
			if err := ops[k].fn(); err != nil {
				b.Fatalf("%s: %v", ops[k].name, err)
			}
			durs[k] = append(durs[k], time.Since(start))
		}
		i++
	}
	med := make([]float64, len(ops))
	for k, ds := range durs {
		slices.Sort(ds)
		med[k] = float64(ds[len(ds)/2]) / float64(time.Microsecond)
		b.ReportMetric(med[k], ops[k].name+"-µs")
	}
	b.ReportMetric(med[1]/med[0], "local/bare")
	b.ReportMetric(med[2]/med[0], "redis/bare")
	b.ReportMetric((med[2]-med[1])/med[3], "redis-local-pings")
}
