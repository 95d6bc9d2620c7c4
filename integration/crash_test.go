package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestCrashes SIGKILLs writers at moments spread over the whole operation,
// calibrated to its measured duration, on several files at once, in local and
// Redis mode. After every kill the file is one whole payload (never torn),
// either the last acknowledged one or one of the writers killed since; after
// `clean`, no temp file is left.
func TestCrashes(t *testing.T) {
	type mode struct {
		name, redis string
		lanes       int
		killsLane   int
		flags       []string
	}
	ms := []mode{{name: "local", lanes: 4, killsLane: pick(25, 100)}}
	if redisSrv != nil {
		// A killed holder keeps its lease until the TTL ends: a short TTL keeps
		// the handoffs quick.
		ms = append(ms, mode{name: "redis", redis: redisSrv.URL(), lanes: 4, killsLane: pick(10, 30), flags: []string{"--lease-ttl", "1s"}})
	} else {
		needRedis(t)
	}
	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) {
			fig := figures(t)
			v := newVol(t, t.TempDir(), m.redis, append([]string{"--timeout", "30s"}, m.flags...)...)
			const size = 1 << 20
			d := calibrate(t, v, size, m.lanes)
			t.Logf("a write of %d KiB with %d lanes writing at once takes %v (median): kills spread over [0, %v)", size>>10, m.lanes, d, d*6/5)
			var wg sync.WaitGroup
			for lane := range m.lanes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					crashLane(t, v, fig, fmt.Sprintf("lane-%d/data", lane), lane, m.killsLane, d, size)
				}()
			}
			wg.Wait()
			t.Logf("checks that found a killed writer's payload committed: %d", killedVisible.Swap(0))
			left := temps(t, v.root)
			t.Logf("%d temp files left by killed writers before clean", len(left))
			fig.Ops.Add(1)
			if r := v.run(t, "", "clean", "--older-than", "0s"); r.code != 0 {
				t.Errorf("clean: exit %d: %s", r.code, r.stderr)
			}
			if left := temps(t, v.root); len(left) > 0 {
				fig.Temps.Add(int64(len(left)))
				t.Errorf("after clean: %d temp files left: %q", len(left), left)
			}
		})
	}
}

// calibrate returns the median duration of a write of size bytes while lanes
// writers write their own files at once, as the lanes will.
func calibrate(t *testing.T, v vol, size, lanes int) time.Duration {
	t.Helper()
	var (
		mu sync.Mutex
		ds []time.Duration
		wg sync.WaitGroup
	)
	for lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				r := v.run(t, string(makePayload(fmt.Sprintf("calibrate-%d-%d", lane, i), size)), "write", fmt.Sprintf("calibrate-%d", lane))
				if r.code != 0 {
					t.Errorf("calibration write: exit %d: %s", r.code, r.stderr)
					return
				}
				mu.Lock()
				ds = append(ds, r.took())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(ds) == 0 {
		t.FailNow()
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// crashLane writes name over and over, killing one writer per round at a
// moment that moves across [0, 1.2·d), with an acknowledged write every other
// round, and checks the file after each round.
func crashLane(t *testing.T, v vol, fig *Figures, name string, lane, kills int, d time.Duration, size int) {
	path := filepath.Join(v.root, name)
	ack := func(id string) bool {
		for attempt := 0; attempt < 20; attempt++ {
			fig.Ops.Add(1)
			r := v.run(t, string(makePayload(id, size)), "write", name)
			switch r.code {
			case 0:
				return true
			case 3, 4:
				fig.Refusals.Add(1)
				continue
			default:
				t.Errorf("%s: write %s: exit %d: %s", name, id, r.code, r.stderr)
				return false
			}
		}
		t.Errorf("%s: write %s: still refused after 20 attempts", name, id)
		return false
	}
	if !ack(fmt.Sprintf("l%d-ack-0", lane)) {
		return
	}
	lastAck := fmt.Sprintf("l%d-ack-0", lane)
	var killed []string // writers killed since lastAck
	for k, round := 0, 0; k < kills && !t.Failed(); round++ {
		id := fmt.Sprintf("l%d-kill-%d", lane, round)
		// Moments spread evenly over the operation, each lane shifted so the
		// lanes do not die in step.
		at := time.Duration((int64(round)*7+int64(lane)*3)%24) * d / 20
		fig.Ops.Add(1)
		p := v.start(t, makePayload(id, size), "write", name)
		time.Sleep(at)
		select {
		case <-p.done:
		default:
			testrig.KillGroup(p.pid())
		}
		<-p.done
		switch {
		case p.code == -int(syscall.SIGKILL):
			fig.Kills.Add(1)
			k++
			killed = append(killed, id)
		case p.code == 0:
			lastAck, killed = id, nil
		case p.code == 3 || p.code == 4:
			fig.Refusals.Add(1)
		default:
			t.Errorf("%s: write %s: exit %d: %s", name, id, p.code, p.errb.String())
			return
		}
		checkCrashTarget(t, fig, path, lastAck, killed)
		if round%2 == 1 {
			id := fmt.Sprintf("l%d-ack-%d", lane, round)
			if !ack(id) {
				return
			}
			lastAck, killed = id, nil
			checkCrashTarget(t, fig, path, lastAck, killed)
		}
	}
}

// killedVisible counts checks that found a killed writer's payload: kills that
// landed after the commit point.
var killedVisible atomic.Int64

// checkCrashTarget checks that path is one whole payload: lastAck, or one of
// the writers killed since.
func checkCrashTarget(t *testing.T, fig *Figures, path, lastAck string, killed []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	id, err := payloadID(data)
	if err != nil {
		fig.Torn.Add(1)
		t.Errorf("%s is torn: %v", path, err)
		return
	}
	if id != lastAck && slices.Contains(killed, id) {
		killedVisible.Add(1)
	}
	if id != lastAck && !slices.Contains(killed, id) {
		fig.Lost.Add(1)
		ok := append([]string{lastAck}, killed...)
		sort.Strings(ok)
		t.Errorf("%s holds payload %s; want the last acknowledged (%s) or a writer killed since (%s)", path, id, lastAck, strings.Join(ok, ", "))
	}
}
