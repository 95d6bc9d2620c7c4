package cli

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// benchCase is one measured line of the bench table.
type benchCase struct {
	Name    string        `json:"name"`
	Ops     int           `json:"ops"`
	Workers int           `json:"workers"`
	OpsPerS float64       `json:"ops_per_s"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
}

func summarise(name string, workers int, lat []time.Duration, wall time.Duration) benchCase {
	slices.Sort(lat)
	c := benchCase{Name: name, Ops: len(lat), Workers: workers}
	if len(lat) == 0 {
		return c
	}
	c.P50 = lat[len(lat)/2]
	c.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	c.OpsPerS = float64(len(lat)) / wall.Seconds()
	return c
}

// timeOps runs op n times on each of workers goroutines and summarises.
func timeOps(name string, workers, n int, op func(worker, i int) error) (benchCase, error) {
	lats := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				t := time.Now()
				if err := op(w, i); err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return benchCase{}, fmt.Errorf("bench %s: %w", name, err)
		}
	}
	return summarise(name, workers, slices.Concat(lats...), wall), nil
}

// timeTurns runs n rounds of ops, each round all of them in turn (starting
// with a different one each round), and summarises each op; its ops/s is
// over the time spent in it.
func timeTurns(names []string, n int, ops []func(i int) error) ([]benchCase, error) {
	lats := make([][]time.Duration, len(ops))
	for i := range n {
		for j := range ops {
			k := (i + j) % len(ops)
			t := time.Now()
			if err := ops[k](i); err != nil {
				return nil, fmt.Errorf("bench %s: %w", names[k], err)
			}
			lats[k] = append(lats[k], time.Since(t))
		}
	}
	cases := make([]benchCase, len(ops))
	for k, l := range lats {
		var spent time.Duration
		for _, d := range l {
			spent += d
		}
		cases[k] = summarise(names[k], 1, l, spent)
	}
	return cases, nil
}

// bareWrite is the atomic write a careful program does without sharedwrite:
// temp (O_EXCL, 0600) in the target's directory, write, fsync, close, rename,
// directory fsync.
func bareWrite(root *os.Root, dir, name string, data []byte, i int) error {
	temp := path.Join(dir, fmt.Sprintf(".%s.%d.%s.tmp", name, i, randomHex(4)))
	f, err := root.OpenFile(temp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(temp, path.Join(dir, name))
	}
	if err != nil {
		root.Remove(temp)
		return err
	}
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// rttCounter counts Redis round trips (a pipeline is one).
type rttCounter struct{ n atomic.Int64 }

func (c *rttCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *rttCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *rttCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// benchEnv opens the coordinators the bench needs, each with its own lock
// descriptors (as separate processes would have) and, in Redis mode, a client
// whose round trips are counted.
type benchEnv struct {
	g       *globals
	client  redis.UniversalClient
	counter *rttCounter
	coords  []*coordinator.Coordinator
}

func openBench(ctx context.Context, g *globals, workers int) (*benchEnv, error) {
	e := &benchEnv{g: g, counter: &rttCounter{}}
	if g.redisURL != "" {
		c, err := locking.NewClient(g.redisURL)
		if err != nil {
			return nil, usageError{err}
		}
		c.AddHook(e.counter)
		e.client = c
	}
	for range workers {
		opts := []coordinator.Option{coordinator.WithLeaseTTL(g.leaseTTL), coordinator.WithLogger(g.logger)}
		if e.client != nil {
			opts = append(opts, coordinator.WithRedis(e.client))
		}
		octx, cancel := g.bounded(ctx)
		c, err := coordinator.Open(octx, g.root, opts...)
		cancel()
		if err != nil {
			e.Close()
			return nil, err
		}
		e.coords = append(e.coords, c)
	}
	return e, nil
}

func (e *benchEnv) Close() {
	for _, c := range e.coords {
		c.Close()
	}
	if e.client != nil {
		e.client.Close()
	}
}

// benchReport is the whole bench run.
type benchReport struct {
	Root        string      `json:"root"`
	Mode        string      `json:"mode"`
	Size        int         `json:"payload_bytes"`
	Cases       []benchCase `json:"cases"`
	Ping        *benchCase  `json:"redis_ping,omitempty"`
	CoordOnBare float64     `json:"coordinated_over_bare_p50"`
	OverheadNs  int64       `json:"overhead_p50_ns"`
	OverheadRTT float64     `json:"overhead_in_rtt,omitempty"`
	RTTPerWrite float64     `json:"redis_round_trips_per_write,omitempty"`
	Contended   float64     `json:"contended_over_serial_limit"`
	Scaling     float64     `json:"distinct_keys_over_single_writer"`
}

func runBenchCases(ctx context.Context, g *globals, o *benchOpts) (*benchReport, error) {
	root, err := os.OpenRoot(g.root)
	if err != nil {
		return nil, volumeError{fmt.Errorf("bench: open root %s: %w", quote.Name(g.root), err)}
	}
	defer root.Close()
	env, err := openBench(ctx, g, o.workers)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	dir := "sharedwrite-bench-" + randomHex(4)
	if err := root.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: mkdir %s: %w", quote.Name(dir), err)
	}
	defer root.RemoveAll(dir)

	data := make([]byte, o.size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	rep := &benchReport{Root: env.coords[0].Root(), Mode: env.coords[0].Mode(), Size: o.size}
	c0 := env.coords[0]
	// Each operation is bounded by --timeout (Redis down: exit 6 within it),
	// not the whole run.
	write := func(c *coordinator.Coordinator, name string) error {
		wctx, cancel := g.bounded(ctx)
		defer cancel()
		return c.WriteFile(wctx, path.Join(dir, name), data, 0o644)
	}
	// Warm up both paths (directory entries, lock file, Redis connection).
	if err := bareWrite(root, dir, "bare", data, -1); err != nil {
		return nil, fmt.Errorf("bench: bare write in %s: %w", quote.Name(dir), err)
	}
	if err := write(c0, "coordinated"); err != nil {
		return nil, err
	}

	// Bare and coordinated writes (and PINGs) take turns, so that all see the
	// same load on a shared machine; run one after the other, whichever ran
	// in a quieter moment would look better.
	names := []string{"bare atomic write", "coordinated write"}
	ops := []func(i int) error{
		func(i int) error { return bareWrite(root, dir, "bare", data, i) },
		func(int) error { return write(c0, "coordinated") },
	}
	if env.client != nil {
		names = append(names, "redis PING")
		ops = append(ops, func(int) error {
			pctx, cancel := g.bounded(ctx)
			defer cancel()
			if err := env.client.Ping(pctx).Err(); err != nil {
				return fmt.Errorf("%w: %w", errRedisUnavailable, err)
			}
			return nil
		})
	}
	before := env.counter.n.Load()
	turns, err := timeTurns(names, o.ops, ops)
	if err != nil {
		return nil, err
	}
	trips := env.counter.n.Load() - before
	if env.client != nil {
		trips -= int64(turns[2].Ops) // the PINGs
	}
	bare, coord := turns[0], turns[1]
	contended, err := timeOps(fmt.Sprintf("contended, %d workers, 1 key", o.workers), o.workers, max(1, o.ops/o.workers),
		func(w, _ int) error { return write(env.coords[w], "contended") })
	if err != nil {
		return nil, err
	}
	distinct, err := timeOps(fmt.Sprintf("distinct keys, %d workers", o.workers), o.workers, max(1, o.ops/o.workers),
		func(w, _ int) error { return write(env.coords[w], fmt.Sprintf("key-%d", w)) })
	if err != nil {
		return nil, err
	}
	rep.Cases = []benchCase{bare, coord, contended, distinct}
	rep.CoordOnBare = float64(coord.P50) / float64(bare.P50)
	rep.OverheadNs = int64(coord.P50 - bare.P50)
	rep.Contended = contended.OpsPerS / coord.OpsPerS
	rep.Scaling = distinct.OpsPerS / coord.OpsPerS
	if env.client != nil {
		ping := turns[2]
		rep.Ping = &ping
		rep.OverheadRTT = float64(coord.P50-bare.P50) / float64(ping.P50)
		rep.RTTPerWrite = float64(trips) / float64(coord.Ops)
	}
	return rep, nil
}
