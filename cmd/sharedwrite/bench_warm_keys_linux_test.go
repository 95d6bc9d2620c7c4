//go:build linux

package main

import (
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestBenchMeasuresWarmWritesOnly: the first write of a key, by each
// worker's coordinator, is a warm-up, as the first bare and coordinated
// writes are: it creates the key's lock file (and fsyncs the locks
// directory), which no later write does. Here creating a lock file takes
// 700 ms; no measured write of any case may include it, or the contended
// and distinct-key figures set cold first writes against the warm single
// writer they are divided by.
func TestBenchMeasuresWarmWritesOnly(t *testing.T) {
	const slowCreate = 700 * time.Millisecond
	f, v := faultVolume(t)
	f.Set(faultfs.Fault{Op: faultfs.OpCreate, Glob: "*.lock", Delay: slowCreate})
	r := v.run(t, "", "bench", "--json", "--ops", "6", "--workers", "2")
	if r.code != 0 {
		t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
	}
	rep := parseBenchJSON(t, r.stdout)
	if len(rep.Cases) != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Cases {
		if p99 := time.Duration(c.P99); p99 >= slowCreate {
			t.Errorf("case %q: p99 %v, p50 %v: a measured write created its key's lock file (%v); want every key warmed up first",
				c.Name, p99, time.Duration(c.P50), slowCreate)
		}
	}
	if n := f.Count(faultfs.OpCreate); n == 0 {
		t.Errorf("no create seen by the fault filesystem")
	}
	if t.Failed() {
		t.Logf("report:\n%s", r.stdout)
	}
}
