package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// timeOps runs op n times in all, spread over workers goroutines (at most
// n of them), and summarises.
func timeOps(name string, workers, n int, op func(worker, i int) error) (benchCase, error) {
	workers = min(workers, n)
	lats := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		mine := n / workers
		if w < n%workers {
			mine++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range mine {
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
func bareWrite(ctx context.Context, root *os.Root, dir, name string, data []byte, i int) error {
	temp := path.Join(dir, fmt.Sprintf(".%s.%d.%s.tmp", name, i, randomHex(4)))
	f, err := root.OpenFile(temp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// In chunks, so that a signal stops a large payload's write promptly.
	for rest := data; err == nil && len(rest) > 0; {
		n := min(len(rest), 1<<20)
		if err = context.Cause(ctx); err == nil {
			_, err = f.Write(rest[:n])
		}
		rest = rest[n:]
	}
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

// rttCounter counts Redis round trips (a pipeline is one) and keeps the first
// error that was not a reply from Redis (a connection refused, reset or timed
// out): a coordinated write whose release failed that way still returns nil
// (it committed), and the bench stops on it (failed) instead of running on.
type rttCounter struct {
	n     atomic.Int64
	trans atomic.Pointer[error]
}

func (c *rttCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *rttCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return c.note(next(ctx, cmd))
	}
}
func (c *rttCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return c.note(next(ctx, cmds))
	}
}

// note keeps err when it is the first transport error, and returns it. A
// command cut short by a signal (its context cancelled) says nothing of Redis.
func (c *rttCounter) note(err error) error {
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) && !errors.Is(err, context.Canceled) {
		c.trans.CompareAndSwap(nil, &err)
	}
	return err
}

// failed is the first transport error, as errRedisUnavailable, or nil.
func (c *rttCounter) failed() error {
	if p := c.trans.Load(); p != nil {
		return fmt.Errorf("%w: %w", errRedisUnavailable, *p)
	}
	return nil
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
		c, err := locking.NewClient(g.clientURL())
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

// cleanup removes the bench's directory, then the lock files and the Redis
// keys of the names the bench wrote in it: a bench leaves nothing behind.
// (Lock files are otherwise never unlinked, since another process may wait
// on one; no one else knows these names, and the bench's own operations have
// ended.) It runs also after a signal or an error, with --timeout for Redis.
// It returns what it could not remove.
func (e *benchEnv) cleanup(ctx context.Context, g *globals, root *os.Root, dir string, names []string) error {
	var errs []error
	if err := root.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("bench: remove %s: %w", quote.Name(dir), err))
	}
	var rkeys []string
	for _, n := range names {
		key := path.Join(dir, n)
		lf := locking.LockPath(key)
		if err := root.Remove(lf); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("bench: remove lock file %s: %w", quote.Name(lf), err))
		}
		if e.client != nil {
			k := locking.RedisKeys(e.coords[0].VolumeID(), key)
			rkeys = append(rkeys, k.Stored()...)
		}
	}
	if len(rkeys) > 0 && e.counter.failed() != nil {
		// The run stopped on it: waiting for Redis again would only delay
		// the exit (6) by another --timeout.
		errs = append(errs, fmt.Errorf("bench: the Redis keys of %s were not deleted (Redis did not answer)", quote.Name(dir)))
	} else if len(rkeys) > 0 {
		dctx, cancel := g.bounded(context.WithoutCancel(ctx))
		defer cancel()
		// One DEL per key in one pipeline: the names' keys lie in different
		// Cluster slots.
		_, err := e.client.Pipelined(dctx, func(p redis.Pipeliner) error {
			for _, k := range rkeys {
				p.Del(dctx, k)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("bench: delete the Redis keys of %s: %w", quote.Name(dir), err))
		}
	}
	return errors.Join(errs...)
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

// runBenchCases runs the cases. It returns the report and nil, or nil and
// the error that stopped the run, or the report and the error of the
// clean-up that followed it.
func runBenchCases(ctx context.Context, g *globals, o *benchOpts) (rep *benchReport, err error) {
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
	names := []string{"coordinated", "contended"}
	for w := range min(o.workers, o.ops) {
		names = append(names, fmt.Sprintf("key-%d", w))
	}
	defer func() {
		cerr := env.cleanup(ctx, g, root, dir, names)
		switch {
		case cerr == nil:
		case err == nil:
			err = cerr
		default:
			err = errors.Join(err, cerr)
		}
	}()

	data := make([]byte, o.size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	r := &benchReport{Root: env.coords[0].Root(), Mode: env.coords[0].Mode(), Size: o.size}
	c0 := env.coords[0]
	// Each operation is bounded by --timeout (Redis down: exit 6 within it),
	// not the whole run. A write that committed but whose release could not
	// reach Redis stops the run too.
	write := func(c *coordinator.Coordinator, name string) error {
		wctx, cancel := g.bounded(ctx)
		defer cancel()
		if err := c.WriteFile(wctx, path.Join(dir, name), data, 0o644); err != nil {
			return err
		}
		return env.counter.failed()
	}
	// Warm up both paths (directory entries, lock file, Redis connection).
	if err := bareWrite(ctx, root, dir, "bare", data, -1); err != nil {
		return nil, fmt.Errorf("bench: bare write in %s: %w", quote.Name(dir), err)
	}
	if err := write(c0, "coordinated"); err != nil {
		return nil, err
	}

	// Bare and coordinated writes (and PINGs) take turns, so that all see the
	// same load on a shared machine; run one after the other, whichever ran
	// in a quieter moment would look better.
	cases := []string{"bare atomic write", "coordinated write"}
	ops := []func(i int) error{
		func(i int) error { return bareWrite(ctx, root, dir, "bare", data, i) },
		func(int) error { return write(c0, "coordinated") },
	}
	if env.client != nil {
		cases = append(cases, "redis PING")
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
	turns, err := timeTurns(cases, o.ops, ops)
	if err != nil {
		return nil, err
	}
	trips := env.counter.n.Load() - before
	if env.client != nil {
		trips -= int64(turns[2].Ops) // the PINGs
	}
	bare, coord := turns[0], turns[1]
	workers := min(o.workers, o.ops)
	contended, err := timeOps(fmt.Sprintf("contended, %d workers, 1 key", workers), workers, o.ops,
		func(w, _ int) error { return write(env.coords[w], "contended") })
	if err != nil {
		return nil, err
	}
	distinct, err := timeOps(fmt.Sprintf("distinct keys, %d workers", workers), workers, o.ops,
		func(w, _ int) error { return write(env.coords[w], names[2+w]) })
	if err != nil {
		return nil, err
	}
	rep = r
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
