package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// outageOp is one operation run during TestRedisOutage.
type outageOp struct {
	client     string
	kind       string // "update", "write"
	id         string // the payload of a write
	code       int
	start, end time.Time
	stderr     string
}

// TestRedisOutage kills redis-server while CLI processes and a library client
// update a counter and write checksummed files: every operation that runs
// entirely during the outage fails with exit 6 or 3 within its timeout, no
// file is corrupt, and after a restart (an empty server) the same clients —
// the library client keeps its Coordinator — succeed again. No acknowledged
// increment is lost.
func TestRedisOutage(t *testing.T) {
	fig := figures(t)
	r := testrig.StartRedis(t)
	const timeout = 2 * time.Second
	root := t.TempDir()
	v := newVol(t, root, r.URL(), "--timeout", timeout.String(), "--lease-ttl", "2s")
	ctx := context.Background()
	lib, err := coordinator.Open(ctx, root, coordinator.WithRedisURL(r.URL()), coordinator.WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatalf("coordinator.Open: %v", err)
	}
	defer lib.Close()

	var (
		mu           sync.Mutex
		ops          []outageOp
		phase        atomic.Int32 // 0 up, 1 down, 2 up again
		stop         atomic.Bool
		killAt       time.Time
		restartAt    time.Time
		successes    = map[string]int{} // after the restart
		libAcked     atomic.Int64
		libAmbiguous atomic.Int64
	)
	record := func(o outageOp) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, o)
		if o.code == 0 && phase.Load() == 2 && o.start.After(restartAt) {
			successes[o.client]++
		}
	}
	var wg sync.WaitGroup
	const clients = 3
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("cli-", c)
			for i := 0; !stop.Load(); i++ {
				fig.Ops.Add(1)
				if i%2 == 0 {
					res := v.run(t, "", "update", "counter", "--", "sh", "-c", `n=$(cat); echo $((${n:-0} + 1))`)
					record(outageOp{client: name, kind: "update", code: res.code, start: res.start, end: res.end, stderr: res.stderr})
					continue
				}
				id := fmt.Sprintf("%s-%d", name, i)
				res := v.run(t, string(makePayload(id, 4096)), "write", "file-"+itoa(c))
				record(outageOp{client: name, kind: "write", id: id, code: res.code, start: res.start, end: res.end, stderr: res.stderr})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			fig.Ops.Add(1)
			octx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			err := lib.Update(octx, "lib-counter", func(old []byte, _ bool) ([]byte, error) {
				n, _ := strconv.Atoi(strings.TrimSpace(string(old)))
				return []byte(strconv.Itoa(n+1) + "\n"), nil
			})
			cancel()
			code := coordinator.ExitCode(err)
			switch code {
			case 0:
				libAcked.Add(1)
			case 3, 4, 6:
			default:
				// Neither committed nor refused cleanly: the increment may
				// or may not have landed.
				libAmbiguous.Add(1)
			}
			o := outageOp{client: "library", kind: "update", code: code, start: start, end: time.Now()}
			if err != nil {
				o.stderr = err.Error()
			}
			record(o)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	time.Sleep(time.Second)
	// The outage starts once Kill returns, the server reaped and its port
	// refusing connections: an operation that started earlier may still
	// have reached it, and is not judged as one run during the outage.
	r.Kill()
	mu.Lock()
	killAt = time.Now()
	phase.Store(1)
	mu.Unlock()
	time.Sleep(pick(6*time.Second, 15*time.Second))
	mu.Lock()
	restartAt = time.Now() // Start returns once the server answers
	phase.Store(2)
	mu.Unlock()
	if err := r.Start(); err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatalf("restart redis-server: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		done := len(successes) == clients+1
		for _, n := range successes {
			done = done && n >= 2
		}
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()

	// Judge every operation by when it ran.
	acked, ambiguous := 0, 0
	lastAck := map[string]string{} // file -> last acknowledged payload
	maybe := map[string][]string{} // file -> failed writes since (they may have landed)
	slices.SortFunc(ops, func(a, b outageOp) int { return a.end.Compare(b.end) })
	for _, o := range ops {
		if o.code != 0 {
			fig.Refusals.Add(1)
		}
		fig.FloorRaises.Add(int64(floorRaises(t, o.stderr)))
		during := o.start.After(killAt) && o.end.Before(restartAt)
		if during {
			if o.code != 6 && o.code != 3 {
				t.Errorf("%s %s during the outage: exit %d; want 6 or 3: %s", o.client, o.kind, o.code, o.stderr)
			}
			if took := o.end.Sub(o.start); took > timeout+5*time.Second {
				t.Errorf("%s %s during the outage took %v; want within its timeout %v (+5s)", o.client, o.kind, took, timeout)
			}
		} else if o.code != 0 && o.code != 3 && o.code != 4 && o.code != 6 {
			t.Errorf("%s %s: exit %d; want 0, or 3, 4 or 6 around the outage: %s", o.client, o.kind, o.code, o.stderr)
		}
		if o.client == "library" {
			continue
		}
		file := "file-" + strings.TrimPrefix(o.client, "cli-")
		switch {
		case o.kind == "update" && o.code == 0:
			acked++
		case o.kind == "update":
			ambiguous++
		case o.code == 0:
			lastAck[file], maybe[file] = o.id, nil
		default:
			maybe[file] = append(maybe[file], o.id)
		}
	}
	mu.Lock()
	for _, c := range []string{"cli-0", "cli-1", "cli-2", "library"} {
		if successes[c] == 0 {
			t.Errorf("%s: no success after Redis came back", c)
		}
	}
	mu.Unlock()
	for file, want := range lastAck {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Errorf("read %s: %v", file, err)
			continue
		}
		id, err := payloadID(data)
		if err != nil {
			fig.Torn.Add(1)
			t.Errorf("%s is corrupt: %v", file, err)
			continue
		}
		if id != want && !slices.Contains(maybe[file], id) {
			fig.Lost.Add(1)
			t.Errorf("%s holds %s; want the last acknowledged write %s or a failed one since", file, id, want)
		}
	}
	checkCounterRange(t, fig, filepath.Join(root, "counter"), acked, acked+ambiguous)
	checkCounterRange(t, fig, filepath.Join(root, "lib-counter"), int(libAcked.Load()), int(libAcked.Load()+libAmbiguous.Load()))
	n, longest := during(ops, killAt, restartAt)
	t.Logf("%d operations: %d entirely during the outage (longest %v, timeout %v); counter: %d acknowledged, %d not", len(ops), n, longest.Round(time.Millisecond), timeout, acked, ambiguous)
	if n == 0 {
		t.Errorf("no operation ran entirely during the outage")
	}
}

// during counts the operations that ran entirely between from and to, and
// returns the longest.
func during(ops []outageOp, from, to time.Time) (n int, longest time.Duration) {
	for _, o := range ops {
		if o.start.After(from) && o.end.Before(to) {
			n++
			longest = max(longest, o.end.Sub(o.start))
		}
	}
	return n, longest
}

// checkCounterRange checks lo <= counter <= hi: every acknowledged increment
// is there (lo), and at most the failed ones whose outcome is unknown more.
func checkCounterRange(t *testing.T, fig *Figures, path string, lo, hi int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	got, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		fig.Torn.Add(1)
		t.Errorf("%s: %q: %v", path, b, err)
		return
	}
	if got < lo {
		fig.Lost.Add(int64(lo - got))
	}
	if got < lo || got > hi {
		t.Errorf("%s: got %d; want %d acknowledged increments (at most %d with the unacknowledged)", filepath.Base(path), got, lo, hi)
	}
}
