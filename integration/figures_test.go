package integration

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Figures are the counts one scenario measured. Fields are updated atomically:
// a scenario's goroutines add to them as they go.
type Figures struct {
	Ops          atomic.Int64 // CLI or library operations run
	Kills        atomic.Int64 // processes killed with SIGKILL
	Pauses       atomic.Int64 // holders stopped with SIGSTOP past their TTL
	Refusals     atomic.Int64 // operations refused (exit 3, 4, 5, 6, 2, 1 on an injected fault)
	FloorRaises  atomic.Int64 // tokens raised past the volume's floor
	StaleRetried atomic.Int64 // fresh reads retried because a cache served an old file
	Repeats      atomic.Int64 // tokens Redis handed out again
	Lost         atomic.Int64 // acknowledged updates lost
	Torn         atomic.Int64 // files whose content is not one whole payload
	Temps        atomic.Int64 // temp files left after clean
	Adopted      atomic.Int64 // files matching no recorded version, adopted after the stale-view window
}

var collector = &figureSet{byName: map[string]*Figures{}}

type figureSet struct {
	mu     sync.Mutex
	byName map[string]*Figures
}

// figures returns the figures of t's scenario, logging them when t ends.
func figures(t *testing.T) *Figures {
	t.Helper()
	collector.mu.Lock()
	f, ok := collector.byName[t.Name()]
	if !ok {
		f = &Figures{}
		collector.byName[t.Name()] = f
	}
	collector.mu.Unlock()
	t.Cleanup(func() { t.Logf("figures: %s", f) })
	return f
}

func (f *Figures) row() []int64 {
	return []int64{f.Ops.Load(), f.Kills.Load(), f.Pauses.Load(), f.Refusals.Load(), f.FloorRaises.Load(),
		f.StaleRetried.Load(), f.Repeats.Load(), f.Lost.Load(), f.Torn.Load(), f.Temps.Load(), f.Adopted.Load()}
}

var columns = []string{"ops", "kills", "pauses", "refusals", "floor-raises", "stale-retried", "token-repeats", "lost", "torn", "temps", "adopted"}

func (f *Figures) String() string {
	var b strings.Builder
	for i, v := range f.row() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", columns[i], v)
	}
	return b.String()
}

// table renders every scenario's figures and their totals.
func (s *figureSet) table(wall time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.byName))
	width := len("scenario")
	for n := range s.byName {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	var b strings.Builder
	mode := "short"
	if soak() {
		mode = "soak"
	}
	fmt.Fprintf(&b, "\nsharedwrite integration figures (%s run, %v wall)\n", mode, wall.Round(time.Second))
	fmt.Fprintf(&b, "%-*s", width, "scenario")
	for _, c := range columns {
		fmt.Fprintf(&b, " %*s", len(c), c)
	}
	b.WriteByte('\n')
	total := make([]int64, len(columns))
	for _, n := range names {
		fmt.Fprintf(&b, "%-*s", width, n)
		for i, v := range s.byName[n].row() {
			fmt.Fprintf(&b, " %*d", len(columns[i]), v)
			total[i] += v
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%-*s", width, "TOTAL")
	for i, v := range total {
		fmt.Fprintf(&b, " %*d", len(columns[i]), v)
	}
	b.WriteByte('\n')
	return b.String()
}
