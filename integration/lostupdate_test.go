package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// counterScript is the update command: it reads the counter on stdin, writes the
// value it read to the file named by $1 (the operation's record) and prints the
// value plus one. A second line of padding makes the size change with every
// value, so that a cache serving the old size (sshfs, NFS) is seen.
const counterScript = `n=$(sed -n 1p); n=${n:-0}; echo "$n" > "$1"; m=$((n + 1)); echo "$m"; printf "%$((m % 13 + 1))s\n" ""`

// counterModel is a counter whose only operation is an increment that returns
// the value it read: it is linearizable when some order of the acknowledged
// increments reads 0, 1, 2, ... each exactly once.
var counterModel = porcupine.Model{
	Init: func() any { return 0 },
	Step: func(state, _, output any) (bool, any) {
		n := state.(int)
		return output.(int) == n, n + 1
	},
	DescribeOperation: func(_, output any) string { return fmt.Sprintf("inc() read %d", output) },
}

// history records operations with times relative to one base.
type history struct {
	base time.Time
	mu   sync.Mutex
	ops  []porcupine.Operation
}

func (h *history) add(client int, call, ret time.Time, read int, log string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: client, Call: call.Sub(h.base).Nanoseconds(), Return: ret.Sub(h.base).Nanoseconds(), Output: read,
		Metadata: log,
	})
}

// increments runs procs clients that each get perClient increments of name
// acknowledged (exit 0), retrying on exit 3, 4 and 6 (nothing committed). It
// adds the acknowledged increments to h.
func increments(t *testing.T, v vol, fig *Figures, name string, procs, perClient int, h *history) {
	t.Helper()
	incrementsWhile(t, v, fig, name, procs, h, incOpts{more: func(i int) bool { return i < perClient }})
}

// incOpts shape incrementsWhile.
type incOpts struct {
	// more(the number of a client's acknowledged increments) says whether
	// the client goes on.
	more func(i int) bool
	// gate, when not nil, is held for reading by each operation: a writer of
	// gate waits until no operation is in flight and holds new ones back.
	gate *sync.RWMutex
	// retry lists exit codes retried besides 3, 4 and 6.
	retry []int
}

// incrementsWhile is increments with each client going on while o.more.
func incrementsWhile(t *testing.T, v vol, fig *Figures, name string, procs int, h *history, o incOpts) {
	t.Helper()
	more, gate := o.more, o.gate
	opsDir := t.TempDir()
	var wg sync.WaitGroup
	for c := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; more(i); {
				if t.Failed() {
					return
				}
				rec := filepath.Join(opsDir, fmt.Sprintf("%d-%d-%d", c, i, fig.Ops.Load()))
				fig.Ops.Add(1)
				if gate != nil {
					gate.RLock()
				}
				r := v.run(t, "", "update", name, "--", "sh", "-c", counterScript, "sh", rec)
				if gate != nil {
					gate.RUnlock()
				}
				fig.FloorRaises.Add(int64(floorRaises(t, r.stderr)))
				fig.Adopted.Add(int64(strings.Count(r.stderr, "matches no recorded version")))
				fig.StaleRetried.Add(metricSum(t, r.stderr, "sharedwrite.stale_reads.retried"))
				code := r.code
				if slices.Contains(o.retry, code) {
					code = 3
				}
				switch code {
				case 0:
					b, err := os.ReadFile(rec)
					if err != nil {
						t.Errorf("client %d: acknowledged update left no record of its read: %v", c, err)
						return
					}
					n, err := strconv.Atoi(strings.TrimSpace(string(b)))
					if err != nil {
						t.Errorf("client %d: record %q: %v", c, b, err)
						return
					}
					h.add(c, r.start, r.end, n, r.stderr)
					i++
				case 3, 4, 6:
					fig.Refusals.Add(1)
					if r.code == 6 {
						time.Sleep(100 * time.Millisecond) // Redis is away: do not spin
					}
				default:
					t.Errorf("client %d: update: exit %d; want 0, or 3, 4 or 6 (nothing committed): %s", c, r.code, r.stderr)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestLostUpdates: N processes × M increments of one counter through `update`,
// in local mode and Redis mode. The final value equals the acknowledged
// increments and the history (invoke/return times, value read) is
// linearizable.
func TestLostUpdates(t *testing.T) {
	procs, perClient := pick(8, 8), pick(30, 100)
	modes := []struct{ name, redis string }{{"local", ""}}
	if redisSrv != nil {
		modes = append(modes, struct{ name, redis string }{"redis", redisSrv.URL()})
	} else {
		needRedis(t)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			fig := figures(t)
			v := newVol(t, t.TempDir(), m.redis, "--timeout", "20s")
			h := &history{base: time.Now()}
			increments(t, v, fig, "counter", procs, perClient, h)
			if t.Failed() {
				return
			}
			checkCounter(t, fig, filepath.Join(v.root, "counter"), procs*perClient)
			checkLinearizable(t, h)
		})
	}
}

// checkCounter checks that the counter at path holds want.
func checkCounter(t *testing.T, fig *Figures, path string, want int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := firstInt(b)
	if err != nil {
		t.Fatalf("counter %q: %v", b, err)
	}
	if got != want {
		if got < want {
			fig.Lost.Add(int64(want - got))
		}
		t.Errorf("counter: got %d; want %d (the acknowledged increments)", got, want)
	}
}

// checkLinearizable checks h against the counter model.
func checkLinearizable(t *testing.T, h *history) {
	t.Helper()
	res, info := porcupine.CheckOperationsVerbose(counterModel, h.ops, time.Minute)
	switch res {
	case porcupine.Ok:
		t.Logf("history of %d acknowledged increments: linearizable", len(h.ops))
	case porcupine.Illegal:
		f := filepath.Join(t.TempDir(), "history.html")
		if err := porcupine.VisualizePath(counterModel, info, f); err == nil {
			t.Logf("visualisation: %s", f)
		}
		t.Errorf("history of %d acknowledged increments is not linearizable", len(h.ops))
		reads := map[int][]porcupine.Operation{}
		for _, o := range h.ops {
			reads[o.Output.(int)] = append(reads[o.Output.(int)], o)
		}
		for n, os := range reads {
			if len(os) > 1 {
				for _, o := range os {
					t.Errorf("value %d read by client %d in [%v, %v] (since the start); its log:\n%s", n, o.ClientId, time.Duration(o.Call), time.Duration(o.Return), o.Metadata)
				}
			}
		}
	default:
		t.Errorf("linearizability check of %d operations: %v", len(h.ops), res)
	}
}

// firstInt parses the first line of a counter file.
func firstInt(b []byte) (int, error) {
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// metricSum sums the data points of the metric named name in the console
// exporter's JSON output, which the CLI prints on stderr (one line per export,
// a JSON object that begins with its "Resource"), among its log lines.
func metricSum(t testing.TB, stderr, name string) int64 {
	t.Helper()
	var total int64
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, `{"Resource"`) {
			continue
		}
		var rm struct {
			ScopeMetrics []struct {
				Metrics []struct {
					Name string
					Data struct {
						DataPoints []struct{ Value json.Number }
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(line), &rm); err != nil {
			t.Errorf("console metrics: %v in %q", err, line)
			return total
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				for _, dp := range m.Data.DataPoints {
					n, _ := dp.Value.Int64()
					total += n
				}
			}
		}
	}
	return total
}
