package locking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

func init() {
	helpers["handoff"] = helperHandoff
}

func BenchmarkPing(b *testing.B) {
	c := testClient(b, needRedis(b).Addr())
	ctx := context.Background()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSetNXDel is what a bare lock costs: SET NX PX, then DEL.
func BenchmarkRawSetNXDel(b *testing.B) {
	c := testClient(b, needRedis(b).Addr())
	ctx := context.Background()
	key := uniqueVolume(b)
	for b.Loop() {
		if ok, err := c.SetNX(ctx, key, "v", time.Second).Result(); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if err := c.Del(ctx, key).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScriptSetNXDel is the raw lock done by two minimal scripts (SET
// NX PX in one, compare-and-delete in the other): the least a lease whose
// acquire and release are scripts costs on this server, next to
// BenchmarkRawSetNXDel and BenchmarkAcquireRelease.
func BenchmarkScriptSetNXDel(b *testing.B) {
	c := testClient(b, needRedis(b).Addr())
	ctx := context.Background()
	key := uniqueVolume(b)
	set := redis.NewScript(`return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`)
	del := redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
	for b.Loop() {
		if err := set.Run(ctx, c, []string{key}, "v", 1000).Err(); err != nil {
			b.Fatal(err)
		}
		if n, err := del.Run(ctx, c, []string{key}, "v").Int(); err != nil || n != 1 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkAcquireRelease is our lease: acquire (token + committed record) and
// release (compare-and-delete + publish), watchdog started and stopped.
func BenchmarkAcquireRelease(b *testing.B) {
	l := NewRedisLocker(testClient(b, needRedis(b).Addr()), uniqueVolume(b))
	ctx := context.Background()
	for b.Loop() {
		le, err := l.Acquire(ctx, "k", time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := le.Release(ctx, nil, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedislockObtainRelease(b *testing.B) {
	rl := redislock.New(testClient(b, needRedis(b).Addr()))
	ctx := context.Background()
	key := uniqueVolume(b)
	for b.Loop() {
		lk, err := rl.Obtain(ctx, key, time.Second, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := lk.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileLockUnlock(b *testing.B) {
	_, d := newLockDir(b)
	fl, err := d.Open("k")
	if err != nil {
		b.Fatal(err)
	}
	defer fl.Close()
	ctx := context.Background()
	for b.Loop() {
		if err := fl.Lock(ctx); err != nil {
			b.Fatal(err)
		}
		if err := fl.Unlock(); err != nil {
			b.Fatal(err)
		}
	}
}

// handoffLock takes and returns one lock the way a handoff worker does.
type handoffLock func(ctx context.Context) (release func(), err error)

func handoffLocker(mode string, c redis.UniversalClient, vol, key string) handoffLock {
	switch mode {
	case "ours":
		l := NewRedisLocker(c, vol)
		return func(ctx context.Context) (func(), error) {
			le, err := l.Acquire(ctx, key, 5*time.Second)
			if err != nil {
				return nil, err
			}
			return func() { le.Release(context.Background(), nil, key) }, nil
		}
	case "linear", "exponential":
		rl := redislock.New(c)
		return func(ctx context.Context) (func(), error) {
			strategy := redislock.LinearBackoff(10 * time.Millisecond)
			if mode == "exponential" {
				strategy = redislock.ExponentialBackoff(4*time.Millisecond, 64*time.Millisecond)
			}
			lk, err := rl.Obtain(ctx, vol+":"+key, 5*time.Second, &redislock.Options{RetryStrategy: strategy})
			if err != nil {
				return nil, err
			}
			return func() { lk.Release(context.Background()) }, nil
		}
	}
	panic("unknown mode " + mode)
}

const (
	handoffHold    = time.Millisecond
	handoffOutside = 2 * time.Millisecond
)

type handoffResult struct {
	N     int     `json:"n"`
	Waits []int64 `json:"waits"` // ns
}

// helperHandoff: from START until START+DURATION, take the lock, hold it for
// 1 ms of work, release, spend 2 ms outside; print the acquisitions and waits.
func helperHandoff() error {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	lock := handoffLocker(os.Getenv("MODE"), c, os.Getenv("VOLUME"), "handoff")
	startNS, _ := strconv.ParseInt(os.Getenv("START"), 10, 64)
	dur, _ := time.ParseDuration(os.Getenv("DURATION"))
	start := time.Unix(0, startNS)
	end := start.Add(dur)
	time.Sleep(time.Until(start))
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	var res handoffResult
	for time.Now().Before(end) {
		t0 := time.Now()
		release, err := lock(ctx)
		if err != nil {
			// The run's end: the context, or a socket deadline set from it.
			var ne net.Error
			if ctx.Err() != nil || time.Until(end) < 100*time.Millisecond || (errors.As(err, &ne) && ne.Timeout()) ||
				errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redislock.ErrNotObtained) {
				break
			}
			return err
		}
		res.Waits = append(res.Waits, int64(time.Since(t0)))
		res.N++
		busy(handoffHold)
		release()
		time.Sleep(handoffOutside)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func busy(d time.Duration) { spin(d) }

func pct(ns []int64, p float64) time.Duration {
	if len(ns) == 0 {
		return 0
	}
	s := append([]int64(nil), ns...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return time.Duration(s[i])
}

// serialHold measures one uncontended hold-and-release cycle (lock, 1 ms of
// work, release), the serial limit's period.
func serialHold(t *testing.T, lock handoffLock, n int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		release, err := lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		busy(handoffHold)
		release()
	}
	return time.Since(start) / time.Duration(n)
}

// TestHandoffBench prints the lease benchmarks as a table. It measures and
// asserts nothing about speed; run with SHAREDWRITE_BENCH=1:
//
//	SHAREDWRITE_BENCH=1 go test -run TestHandoffBench -v ./locking/
func TestHandoffBench(t *testing.T) {
	if os.Getenv("SHAREDWRITE_BENCH") != "1" {
		t.Skip("benchmark harness; set SHAREDWRITE_BENCH=1")
	}
	r := needRedis(t)
	c := testClient(t, r.Addr())
	var out strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&out, format, a...) }

	// Round trips: each operation timed over 1000 runs, seven samples
	// interleaved (the machine's load changes), median reported.
	ctx := context.Background()
	vol := uniqueVolume(t)
	ourL := NewRedisLocker(c, vol)
	rlc := redislock.New(c)
	ops := []struct {
		name string
		op   func() error
	}{
		{"PING", func() error { return c.Ping(ctx).Err() }},
		{"raw SET NX PX + DEL", func() error {
			if err := c.SetNX(ctx, vol+":raw", "v", time.Second).Err(); err != nil {
				return err
			}
			return c.Del(ctx, vol+":raw").Err()
		}},
		{"Acquire + Release (ours)", func() error {
			le, err := ourL.Acquire(ctx, "rt", time.Second)
			if err != nil {
				return err
			}
			return le.Release(ctx, nil, "rt")
		}},
		{"redislock Obtain + Release", func() error {
			lk, err := rlc.Obtain(ctx, vol+":rl", time.Second, nil)
			if err != nil {
				return err
			}
			return lk.Release(ctx)
		}},
	}
	samples := make([][]int64, len(ops))
	for s := 0; s < 7; s++ {
		for i, o := range ops {
			start := time.Now()
			for n := 0; n < 1000; n++ {
				if err := o.op(); err != nil {
					t.Fatal(err)
				}
			}
			samples[i] = append(samples[i], int64(time.Since(start)/1000))
		}
	}
	med := func(i int) time.Duration { return pct(samples[i], 0.5) }
	rtt := med(0)
	p("\nround trips (median of 7 × 1000; PING round trip %v)\n", rtt)
	p("%-34s %12s %10s\n", "operation", "per op", "RTTs")
	for i := 1; i < len(ops); i++ {
		p("%-34s %12v %10.2f\n", ops[i].name, med(i), float64(med(i))/float64(rtt))
	}
	p("ours − raw: %v\n", med(2)-med(1))

	// Contended handoff: rounds of the three lockers in turn (the machine's
	// load drifts); each run measures its own serial limit right before it.
	const procs = 8
	dur, rounds := 3*time.Second, 3
	if d, err := time.ParseDuration(os.Getenv("SHAREDWRITE_BENCH_DURATION")); err == nil {
		dur = d
	}
	if n, err := strconv.Atoi(os.Getenv("SHAREDWRITE_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	type row struct{ serial, tput, ratio, p50, p99, max, fair float64 }
	modes := []string{"ours", "linear", "exponential"}
	rows := map[string][]row{}
	for round := 0; round < rounds; round++ {
		for _, mode := range modes {
			vol := uniqueVolume(t) + mode
			period := serialHold(t, handoffLocker(mode, c, vol, "serial"), 300)
			serial := float64(time.Second) / float64(period)
			start := time.Now().Add(500 * time.Millisecond)
			var ps []*helperProc
			for i := 0; i < procs; i++ {
				ps = append(ps, startHelper(t, "handoff", "REDIS_ADDR="+r.Addr(), "VOLUME="+vol, "MODE="+mode,
					"START="+strconv.FormatInt(start.UnixNano(), 10), "DURATION="+dur.String()))
			}
			var all []int64
			total, fewest, most := 0, int(^uint(0)>>1), 0
			for i, hp := range ps {
				line := hp.expect(t, "{", dur+30*time.Second)
				var res handoffResult
				if err := json.Unmarshal([]byte(line), &res); err != nil {
					t.Fatalf("process %d: %q: %v", i, line, err)
				}
				hp.cmd.Wait()
				total += res.N
				fewest, most = min(fewest, res.N), max(most, res.N)
				all = append(all, res.Waits...)
			}
			tput := float64(total) / dur.Seconds()
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			rows[mode] = append(rows[mode], row{serial, tput, tput / serial,
				ms(pct(all, 0.5)), ms(pct(all, 0.99)), ms(pct(all, 1)), float64(fewest) / float64(max(most, 1))})
		}
	}
	median := func(rs []row, f func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	p("\ncontended handoff: %d processes, one key, hold %v of work, %v outside; %d rounds of %v; medians (÷serial per round in brackets)\n",
		procs, handoffHold, handoffOutside, rounds, dur)
	p("%-24s %8s %8s %8s %9s %9s %9s %8s  %s\n", "locker", "serial/s", "acq/s", "÷serial", "p50 ms", "p99 ms", "max ms", "fairness", "rounds")
	for _, mode := range modes {
		rs := rows[mode]
		var each []string
		for _, r := range rs {
			each = append(each, fmt.Sprintf("%.2f", r.ratio))
		}
		name := map[string]string{"ours": "ours (queue + pub/sub)", "linear": "redislock Linear(10ms)", "exponential": "redislock Exp(4ms,64ms)"}[mode]
		p("%-24s %8.0f %8.0f %8.2f %9.2f %9.1f %9.1f %8.2f  [%s]\n", name,
			median(rs, func(r row) float64 { return r.serial }), median(rs, func(r row) float64 { return r.tput }),
			median(rs, func(r row) float64 { return r.ratio }), median(rs, func(r row) float64 { return r.p50 }),
			median(rs, func(r row) float64 { return r.p99 }), median(rs, func(r row) float64 { return r.max }),
			median(rs, func(r row) float64 { return r.fair }), strings.Join(each, " "))
	}

	// Wake-up latency after Release.
	l := NewRedisLocker(c, uniqueVolume(t))
	var wake []int64
	for i := 0; i < 200; i++ {
		holder, err := l.Acquire(context.Background(), "w", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan time.Time, 1)
		go func() {
			le, err := l.Acquire(context.Background(), "w", 10*time.Second)
			if err != nil {
				t.Error(err)
				got <- time.Time{}
				return
			}
			got <- time.Now()
			le.Release(context.Background(), nil, "w")
		}()
		time.Sleep(3 * time.Millisecond)
		released := time.Now()
		holder.Release(context.Background(), nil, "w")
		wake = append(wake, int64((<-got).Sub(released)))
		time.Sleep(time.Millisecond)
	}
	p("\nwake-up after Release (ours, 200 handoffs): p50 %v  p99 %v\n", pct(wake, 0.5).Round(time.Microsecond), pct(wake, 0.99).Round(time.Microsecond))

	// File lock: wait added by polling.
	_, d := newLockDir(t)
	h, _ := d.Open("f")
	w, _ := d.Open("f")
	defer h.Close()
	defer w.Close()
	var poll []int64
	for i := 0; i < 200; i++ {
		h.Lock(context.Background())
		got := make(chan time.Time, 1)
		go func() {
			w.Lock(context.Background())
			got <- time.Now()
			w.Unlock()
		}()
		time.Sleep(time.Duration(2+i%10) * time.Millisecond)
		released := time.Now()
		h.Unlock()
		poll = append(poll, int64((<-got).Sub(released)))
	}
	p("file lock wait added by polling (200 handoffs, 2–11 ms holds): p50 %v  p99 %v\n", pct(poll, 0.5).Round(time.Microsecond), pct(poll, 0.99).Round(time.Microsecond))

	// The same handoff in one process (what the bench command can run).
	st, err := MeasureHandoff(context.Background(), NewRedisLocker(c, uniqueVolume(t)), "inproc", procs, handoffHold, handoffOutside, dur)
	if err != nil {
		t.Fatal(err)
	}
	p("in-process handoff (MeasureHandoff, %d goroutines): ÷serial %.2f, p50 %v, p99 %v, max %v, fairness %.2f\n",
		procs, st.SerialRatio, st.WaitP50.Round(10*time.Microsecond), st.WaitP99.Round(10*time.Microsecond), st.WaitMax.Round(10*time.Microsecond), st.Fairness)
	t.Log(out.String())
}
