package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
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

// timedOp is one measured operation: it returns how long it took, measured
// by itself (around the call alone, not the goroutine it runs in: see
// volumeCalls).
type timedOp func(i int) (time.Duration, error)

// timedResult is what timed returned in another goroutine.
type timedResult struct {
	d   time.Duration
	err error
}

// timed measures fn, the call of a timedOp.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// timeOps runs op n times in all, spread over workers goroutines (at most
// n of them), and summarises.
func timeOps(name string, workers, n int, op func(worker, i int) (time.Duration, error)) (benchCase, error) {
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
				d, err := op(w, i)
				if err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], d)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	// A volume that did not answer says more than a worker that waited for
	// the key behind the one stuck in it.
	first := slices.IndexFunc(errs, func(err error) bool { return errors.Is(err, errNoAnswer) })
	if first < 0 {
		first = slices.IndexFunc(errs, func(err error) bool { return err != nil })
	}
	if first >= 0 {
		return benchCase{}, fmt.Errorf("bench %s: %w", name, errs[first])
	}
	return summarise(name, workers, slices.Concat(lats...), wall), nil
}

// timeTurns runs n rounds of ops, each round all of them in turn (starting
// with a different one each round), and summarises each op; its ops/s is
// over the time spent in it.
func timeTurns(names []string, n int, ops []timedOp) ([]benchCase, error) {
	lats := make([][]time.Duration, len(ops))
	for i := range n {
		for j := range ops {
			k := (i + j) % len(ops)
			d, err := ops[k](i)
			if err != nil {
				return nil, fmt.Errorf("bench %s: %w", names[k], err)
			}
			lats[k] = append(lats[k], d)
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
//
// Every call on the volume is bounded by --timeout and ends at a signal, also
// when the volume stops answering (see volumeCalls).
func runBenchCases(ctx context.Context, g *globals, o *benchOpts) (rep *benchReport, err error) {
	v := &volumeCalls{timeout: g.timeout}
	octx, cancel := g.bounded(ctx)
	root, err := volumeCall(octx, v, func() (*os.Root, error) { return os.OpenRoot(g.root) })
	fresh := false
	if err == nil && g.redisURL == "" {
		fresh, err = volumeCall(octx, v, func() (bool, error) { return uninitialised(root), nil })
	}
	cancel()
	if err != nil {
		err = fmt.Errorf("bench: open root %s: %w", quote.Name(g.root), err)
		if errors.Is(err, errNoAnswer) {
			return nil, err
		}
		return nil, volumeError{err}
	}
	defer func() {
		if v.stuck() == nil {
			root.Close()
		}
	}()
	env, err := newBenchEnv(g, v)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	dir := benchDirPrefix + randomHex(4)
	// base is dir relative to the coordinators' root. On a root that holds
	// no volume yet, local mode would make one on first use and fix the
	// volume's mode for good; so the coordinators use dir as their root
	// instead, and the metadata they make goes with dir: a bench leaves the
	// root as it found it. The measurement is the same: dir is on the same
	// filesystem, and the bare and coordinated writes still go to one
	// directory. Otherwise (in Redis mode the volume must be initialised)
	// the volume is opened before dir is made, so that a refused open
	// leaves nothing either.
	base := dir
	if !fresh {
		if err := env.open(ctx, g.root, o.workers); err != nil {
			return nil, err
		}
	}
	if err := env.sweepLeftovers(ctx, root); err != nil {
		return nil, err
	}
	mctx, cancel := g.bounded(ctx)
	err = v.do(mctx, func() error { return root.Mkdir(dir, 0o755) })
	cancel()
	if err != nil {
		return nil, fmt.Errorf("bench: mkdir %s: %w", quote.Name(dir), err)
	}
	keys := min(o.workers, o.ops)
	names := benchNames(keys)
	defer func() {
		cerr := env.cleanup(ctx, root, dir, base, names)
		switch {
		case cerr == nil:
		case err == nil:
			err = cerr
		default:
			err = errors.Join(err, cerr)
		}
	}()
	if err := env.markRun(ctx, root, dir, keys, fresh); err != nil {
		return nil, err
	}
	if fresh {
		env.sub, base = dir, "."
		if err := env.open(ctx, filepath.Join(g.root, dir), o.workers); err != nil {
			return nil, err
		}
	}

	data := make([]byte, o.size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	c0 := env.coords[0]
	r := &benchReport{Root: c0.Root(), Mode: c0.Mode(), Size: o.size}
	if fresh {
		r.Root = filepath.Dir(r.Root)
	}
	// Each operation is bounded by --timeout (Redis down: exit 6 within it;
	// the volume not answering: exit 3), not the whole run. A write that
	// committed but whose release could not reach Redis stops the run too.
	// Each write runs through v, and takes its own time there (see timedOp).
	timedWrite := func(name string, fn func(ctx context.Context) error) (time.Duration, error) {
		wctx, cancel := g.bounded(ctx)
		defer cancel()
		d, err := volumeCall(wctx, v, func() (time.Duration, error) {
			return timed(func() error { return fn(wctx) })
		})
		if errors.Is(err, errNoAnswer) {
			return 0, fmt.Errorf("write %s: %w", quote.Name(path.Join(dir, name)), err)
		}
		return d, err
	}
	write := func(c *coordinator.Coordinator, name string) (time.Duration, error) {
		d, err := timedWrite(name, func(ctx context.Context) error {
			return c.WriteFile(ctx, path.Join(base, name), data, 0o644)
		})
		if err != nil {
			return 0, err
		}
		return d, env.counter.failed()
	}
	writeBare := func(i int) (time.Duration, error) {
		return timedWrite("bare", func(ctx context.Context) error { return bareWrite(ctx, root, dir, "bare", data, i) })
	}
	// Warm up both paths (directory entries, lock file, Redis connection).
	if _, err := writeBare(-1); err != nil {
		return nil, fmt.Errorf("bench: bare write in %s: %w", quote.Name(dir), err)
	}
	if _, err := write(c0, "coordinated"); err != nil {
		return nil, err
	}

	// Bare and coordinated writes (and PINGs) take turns, so that all see the
	// same load on a shared machine; run one after the other, whichever ran
	// in a quieter moment would look better.
	cases := []string{"bare atomic write", "coordinated write"}
	ops := []timedOp{
		writeBare,
		func(int) (time.Duration, error) { return write(c0, "coordinated") },
	}
	if env.client != nil {
		cases = append(cases, "redis PING")
		ops = append(ops, func(int) (time.Duration, error) {
			pctx, cancel := g.bounded(ctx)
			defer cancel()
			// Timed as each write is, in a goroutine of its own (see
			// volumeCalls), so that the round trips compare like with
			// like.
			res := make(chan timedResult, 1)
			go func() {
				d, err := timed(func() error { return env.client.Ping(pctx).Err() })
				res <- timedResult{d, err}
			}()
			r := <-res
			d, err := r.d, r.err
			if err != nil {
				if ctx.Err() != nil {
					// A signal cut the PING short: that says
					// nothing of Redis.
					return 0, context.Cause(ctx)
				}
				return 0, fmt.Errorf("%w: %w", errRedisUnavailable, err)
			}
			return d, nil
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
	// Each case starts with a write of its key by every worker, unmeasured,
	// as the turns above start with a warm-up: a key's first write creates
	// its lock file and fsyncs the locks directory, and a coordinator's
	// first open of it is its own; none of the measured writes pays these.
	timeWarm := func(name string, key func(w int) string) (benchCase, error) {
		op := func(w, _ int) (time.Duration, error) { return write(env.coords[w], key(w)) }
		if _, err := timeOps(name, workers, workers, op); err != nil {
			return benchCase{}, err
		}
		return timeOps(name, workers, o.ops, op)
	}
	contended, err := timeWarm(fmt.Sprintf("contended, %d workers, 1 key", workers),
		func(int) string { return "contended" })
	if err != nil {
		return nil, err
	}
	distinct, err := timeWarm(fmt.Sprintf("distinct keys, %d workers", workers),
		func(w int) string { return names[2+w] })
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
