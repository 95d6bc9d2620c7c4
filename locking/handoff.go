package locking

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// HandoffStats is what MeasureHandoff saw.
type HandoffStats struct {
	Workers      int
	Duration     time.Duration
	Acquisitions int
	PerWorker    []int
	// SerialPeriod is one uncontended acquire + hold + release; its inverse
	// is the serial limit.
	SerialPeriod time.Duration
	Throughput   float64 // acquisitions per second
	SerialRatio  float64 // Throughput ÷ serial limit
	WaitP50      time.Duration
	WaitP99      time.Duration
	WaitMax      time.Duration
	Fairness     float64 // fewest ÷ most acquisitions per worker
}

// MeasureHandoff measures a contended handoff in this process: workers
// goroutines take the lease on key in turn for dur, each holding it for hold
// (busy work) and then spending outside without it. The locker must exclude
// on its own (a RedisLocker; a LocalLocker needs the file lock as well). It
// asserts nothing; the `bench` command prints the result.
func MeasureHandoff(ctx context.Context, l Locker, key string, workers int, hold, outside, dur time.Duration) (HandoffStats, error) {
	const ttl = 5 * time.Second
	st := HandoffStats{Workers: workers, Duration: dur, PerWorker: make([]int, workers)}
	cycle := func(ctx context.Context) (time.Duration, error) {
		t0 := time.Now()
		le, err := l.Acquire(ctx, key, ttl)
		if err != nil {
			return 0, err
		}
		wait := time.Since(t0)
		spin(hold)
		return wait, le.Release(context.WithoutCancel(ctx), nil, key)
	}
	const serialRuns = 50
	start := time.Now()
	for i := 0; i < serialRuns; i++ {
		if _, err := cycle(ctx); err != nil {
			return st, err
		}
	}
	st.SerialPeriod = time.Since(start) / serialRuns

	runCtx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var (
		mu    sync.Mutex
		waits []time.Duration
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				wait, err := cycle(runCtx)
				if err != nil {
					if runCtx.Err() == nil && !errors.Is(err, ErrNotObtained) {
						mu.Lock()
						first = cmpOr(first, err)
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				waits = append(waits, wait)
				st.PerWorker[w]++
				mu.Unlock()
				time.Sleep(outside)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// Cut short by the caller: no figure for the requested duration.
		return st, context.Cause(ctx)
	}
	if first != nil {
		return st, first
	}
	for _, n := range st.PerWorker {
		st.Acquisitions += n
	}
	st.Throughput = float64(st.Acquisitions) / dur.Seconds()
	if st.SerialPeriod > 0 {
		st.SerialRatio = st.Throughput * st.SerialPeriod.Seconds()
	}
	if len(waits) > 0 {
		slices.Sort(waits)
		st.WaitP50 = waits[(len(waits)-1)/2]
		st.WaitP99 = waits[(len(waits)-1)*99/100]
		st.WaitMax = waits[len(waits)-1]
	}
	if most := slices.Max(st.PerWorker); most > 0 {
		st.Fairness = float64(slices.Min(st.PerWorker)) / float64(most)
	}
	return st, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// spin busy-waits for d: work that a sleep's timer slack would not distort.
func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}
