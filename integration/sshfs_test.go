//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// staleCache is the sshfs caching of the two "hosts": a few seconds of
// staleness in the short run, sshfs's defaults (about 20 s) in the soak.
func staleCache() sshhost.Cache { return pick(sshhost.Short, sshhost.Default) }

// TestSSHFSStaleRedis: two sshfs mounts of one export that cache attributes
// and directory entries, each used by its own writer processes, increment one
// counter in Redis mode. The fresh-read protocol waits out the stale caches
// (the retries are counted from the CLI's metrics): 0 lost updates, and the
// history is linearizable.
func TestSSHFSStaleRedis(t *testing.T) {
	redis := needRedis(t)
	fig := figures(t)
	host, ms := sshhost.Mounts(t, 2, staleCache())
	// The console metric exporter prints the CLI's counters on stderr when it
	// exits (metricSum picks them out of the log lines).
	va := newVol(t, ms[0].Dir, redis.URL(), "--timeout", pick("90s", "240s"))
	va.env = []string{"OTEL_METRICS_EXPORTER=console"}
	vb := va.on(ms[1].Dir)
	h := &history{base: time.Now()}
	each := pick(20, 8)
	var wg sync.WaitGroup
	for _, v := range []vol{va, vb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			incrementsWhile(t, v, fig, "counter", 2, h, incOpts{more: func(i int) bool { return i < each }})
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if fig.StaleRetried.Load() == 0 {
		t.Errorf("no stale read was retried: the caches never served an old counter, so the scenario did not test stale views")
	}
	checkCounter(t, fig, filepath.Join(host.Export, "counter"), 4*each)
	checkLinearizable(t, h)
}

// barrierScript is the update command of the local-mode race: it records the
// value it read ($1), announces it ($2) and waits (at most 10 s) until the
// other host's command has read too ($3), then prints the value plus one.
const barrierScript = `n=$(cat); n=${n:-0}; echo "$n" > "$1"; : > "$2"; i=0; while [ ! -e "$3" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; echo $((n + 1))`

// TestSSHFSLocalMode: local mode on two sshfs mounts, whose file locks do not
// reach each other. A barrier makes both hosts read the counter before either
// commits; the test reports what follows — lost updates or fenced refusals —
// and `doctor --peer` run on both mounts at once reports that locks do not
// propagate (the documented reason to configure Redis).
func TestSSHFSLocalMode(t *testing.T) {
	fig := figures(t)
	host, ms := sshhost.Mounts(t, 2, staleCache())
	va := newVol(t, ms[0].Dir, "", "--timeout", "60s")
	vb := va.on(ms[1].Dir)
	if r := va.run(t, "0\n", "write", "counter"); r.code != 0 {
		t.Fatalf("write counter on %s: exit %d: %s", va.root, r.code, r.stderr)
	}
	dir := t.TempDir()
	rounds := pick(6, 15)
	var lost, fenced, serialised, acked int
	for round := range rounds {
		// Let the other mount's caches catch up with the last round.
		time.Sleep(pick(2500*time.Millisecond, 21*time.Second))
		before := readInt(t, filepath.Join(host.Export, "counter"))
		arrive := func(h string) string { return filepath.Join(dir, fmt.Sprintf("arrived-%d-%s", round, h)) }
		rec := func(h string) string { return filepath.Join(dir, fmt.Sprintf("read-%d-%s", round, h)) }
		fig.Ops.Add(2)
		pa := va.start(t, nil, "update", "counter", "--", "sh", "-c", barrierScript, "sh", rec("a"), arrive("a"), arrive("b"))
		pb := vb.start(t, nil, "update", "counter", "--", "sh", "-c", barrierScript, "sh", rec("b"), arrive("b"), arrive("a"))
		ca, cb := pa.wait(t, 2*time.Minute), pb.wait(t, 2*time.Minute)
		both := exists(rec("a")) && exists(rec("b"))
		after := readInt(t, filepath.Join(host.Export, "counter"))
		ok := 0
		for _, c := range []int{ca, cb} {
			switch c {
			case 0:
				ok++
			case 3, 4, 5:
				fig.Refusals.Add(1)
			default:
				t.Errorf("round %d: update: exit %d (a: %s; b: %s)", round, c, pa.errb.String(), pb.errb.String())
			}
		}
		acked += ok
		switch {
		case !both:
			serialised++
		case ok == 2 && after-before < 2:
			lost += 2 - (after - before)
		case ok < 2:
			fenced++
		}
		t.Logf("round %d: exits %d and %d, both read before either committed: %v, counter %d -> %d", round, ca, cb, both, before, after)
		if ca == 5 || cb == 5 {
			t.Logf("refused: %s %s", strings.TrimSpace(pa.errb.String()), strings.TrimSpace(pb.errb.String()))
		}
	}
	fig.Lost.Add(int64(lost))
	t.Logf("local mode on two sshfs mounts, %d rounds: %d updates lost, %d rounds with a fenced refusal, %d rounds serialised, %d of %d updates acknowledged", rounds, lost, fenced, serialised, acked, 2*rounds)

	// doctor --peer on both mounts at once: the two replicas meet through the
	// volume and test whether a lock taken on one is seen on the other.
	pa := va.start(t, nil, "doctor", "--peer", "--peer-wait", "60s", "--json")
	pb := vb.start(t, nil, "doctor", "--peer", "--peer-wait", "60s", "--json")
	for _, p := range []*proc{pa, pb} {
		p.wait(t, 90*time.Second)
		var d struct {
			Peer *struct{ Propagates bool }
		}
		if err := json.Unmarshal([]byte(p.out.String()), &d); err != nil {
			t.Errorf("doctor --peer --json: %v: %s (stderr %s)", err, p.out.String(), p.errb.String())
			continue
		}
		if d.Peer == nil || d.Peer.Propagates {
			t.Errorf("doctor --peer across two sshfs mounts: got %+v; want locks reported as not propagating", d.Peer)
		}
	}
}
