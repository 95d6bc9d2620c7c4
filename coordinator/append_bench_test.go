package coordinator

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend compares, at the same durability (each acknowledged record
// fsynced and recorded under the lease, Redis mode), group commit with one
// lease + pwrite + fsync + record per record (MaxBatchBytes(1)), for 8
// appenders:
//
//   - streaming: 8 appenders, each on its own Coordinator (as 8 processes
//     would be), each streaming its records with up to 256 in flight (as
//     `sharedwrite append` does with stdin lines);
//   - sync-callers: 8 goroutines that each wait for every Append, through one
//     Appender (group) or one Appender each (per-record).
//
// It reports records/s and the p50/p99 latency from Append to its
// acknowledgement. Run with -benchtime=Nx (e.g. 3000x) to fix the record count.
func BenchmarkAppend(b *testing.B) {
	needRedis(b)
	const writers, inFlight = 8, 256
	record := []byte("2026-11-22T03:00:00Z service=api level=info msg=\"request served\" status=200 bytes=1234\n")
	cases := []struct {
		name             string
		group, streaming bool
	}{
		{"streaming/group-commit", true, true},
		{"streaming/per-record", false, true},
		{"sync-callers/group-commit", true, false},
		{"sync-callers/per-record", false, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			root := b.TempDir()
			c := open(b, rds, root)
			ctx := context.Background()
			var opts []LogOption
			if !tc.group {
				opts = append(opts, MaxBatchBytes(1))
			}
			apps := make([]*Appender, writers)
			for i := range apps {
				switch {
				case tc.streaming:
					apps[i] = open(b, rds, root).Appender("app.log", opts...)
				case tc.group && i > 0:
					apps[i] = apps[0]
				default:
					apps[i] = c.Appender("app.log", opts...)
				}
			}
			lat := make([][]time.Duration, writers)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if !tc.streaming {
						for range n {
							t0 := time.Now()
							if err := apps[w].Append(ctx, record); err != nil {
								b.Error(err)
								return
							}
							lat[w] = append(lat[w], time.Since(t0))
						}
						return
					}
					type sent struct {
						at  time.Time
						res <-chan error
					}
					q := make(chan sent, inFlight)
					done := make(chan struct{})
					go func() {
						defer close(done)
						for s := range q {
							if err := <-s.res; err != nil {
								b.Error(err)
							}
							lat[w] = append(lat[w], time.Since(s.at))
						}
					}()
					for range n {
						q <- sent{time.Now(), apps[w].AppendAsync(record)}
					}
					close(q)
					<-done
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			for i, a := range apps {
				if i == 0 || !tc.group || tc.streaming {
					a.Close()
				}
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return
			}
			b.ReportMetric(float64(len(all))/el.Seconds(), "records/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
