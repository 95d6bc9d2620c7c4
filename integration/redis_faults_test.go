//go:build linux

package integration

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// The fault mix: many CLI operations of several kinds run while a fault
// injector hits redis-server at random moments.

type faultOp struct {
	worker, kind string
	id           string
	code         int
	took         time.Duration
	start, end   time.Time
	stderr       string
	fault        string // faults active/started during the op
}

type faultLog struct {
	mu  sync.Mutex
	ops []faultOp
	// fault timeline
	faults []string
}

func (l *faultLog) add(o faultOp) {
	l.mu.Lock()
	l.ops = append(l.ops, o)
	l.mu.Unlock()
}

func (l *faultLog) fault(s string) {
	l.mu.Lock()
	l.faults = append(l.faults, fmt.Sprintf("%s %s", time.Now().Format("15:04:05.000"), s))
	l.mu.Unlock()
}

func redisCLI(r *testrig.Redis, args ...string) (string, error) {
	a := append([]string{"-p", strconv.Itoa(r.Port)}, args...)
	out, err := exec.Command("redis-cli", a...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// injectFault runs one random fault from the enabled set and returns its name.
func injectFault(t *testing.T, r *testrig.Redis, rng *rand.Rand, ttl time.Duration, enabled []string, l *faultLog) {
	f := enabled[rng.IntN(len(enabled))]
	switch f {
	case "stop-short", "stop-long":
		d := time.Duration(rng.Int64N(int64(ttl/2))) + ttl/10
		if f == "stop-long" {
			d = ttl + time.Duration(rng.Int64N(int64(3*ttl)))
		}
		pid := r.PID()
		if pid == 0 {
			return
		}
		l.fault(fmt.Sprintf("SIGSTOP redis %v", d))
		syscall.Kill(pid, syscall.SIGSTOP)
		time.Sleep(d)
		syscall.Kill(pid, syscall.SIGCONT)
		l.fault("SIGCONT redis")
	case "restart":
		d := time.Duration(rng.Int64N(int64(2 * ttl)))
		l.fault(fmt.Sprintf("kill redis, down %v", d))
		r.Kill()
		time.Sleep(d)
		if err := r.Start(); err != nil {
			t.Errorf("restart redis: %v", err)
		}
		l.fault("redis restarted (empty)")
	case "pause":
		ms := rng.IntN(int(2*ttl/time.Millisecond)) + 50
		out, err := redisCLI(r, "CLIENT", "PAUSE", strconv.Itoa(ms), "ALL")
		l.fault(fmt.Sprintf("CLIENT PAUSE %d ALL: %s %v", ms, out, err))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case "debugsleep":
		s := float64(rng.IntN(int(2*ttl/time.Millisecond))+50) / 1000
		l.fault(fmt.Sprintf("DEBUG SLEEP %.3f", s))
		out, err := redisCLI(r, "DEBUG", "SLEEP", fmt.Sprintf("%.3f", s))
		l.fault(fmt.Sprintf("DEBUG SLEEP done: %s %v", out, err))
	case "clientkill":
		out, err := redisCLI(r, "CLIENT", "KILL", "TYPE", "normal")
		l.fault(fmt.Sprintf("CLIENT KILL TYPE normal: %s %v", out, err))
	case "clientkillpubsub":
		out, err := redisCLI(r, "CLIENT", "KILL", "TYPE", "pubsub")
		l.fault(fmt.Sprintf("CLIENT KILL TYPE pubsub: %s %v", out, err))
	case "scriptflush":
		out, err := redisCLI(r, "SCRIPT", "FLUSH")
		l.fault(fmt.Sprintf("SCRIPT FLUSH: %s %v", out, err))
	case "flushall":
		out, err := redisCLI(r, "FLUSHALL")
		l.fault(fmt.Sprintf("FLUSHALL: %s %v", out, err))
	}
}

const lockLogScript = `echo "start $1 $(date +%s%N)" >> "$2"; trap 'echo "term $1 $(date +%s%N)" >> "$2"; exit 143' TERM; sleep 0.2; echo "end $1 $(date +%s%N)" >> "$2"`

const incrementScript = `n=$(cat); echo $((${n:-0} + 1))`

type faultMix struct {
	ttl, timeout time.Duration
	duration     time.Duration
	faults       []string
	updaters     int
	kinds        []string // extra worker kinds: write, append, lock, initrm, move
	gapMin       time.Duration
	gapMax       time.Duration
}

func runFaultMix(t *testing.T, cfg faultMix) {
	r := testrig.StartRedis(t, "--enable-debug-command", "yes")
	root := t.TempDir()
	v := newVol(t, root, r.URL(), "--timeout", cfg.timeout.String(), "--lease-ttl", cfg.ttl.String())
	l := &faultLog{}
	var stop atomic.Bool
	var wg sync.WaitGroup
	spool := t.TempDir()
	lockLog := filepath.Join(t.TempDir(), "locklog")
	nestedLog := filepath.Join(t.TempDir(), "nestedlog")

	runOp := func(worker, kind, id, stdin string, args ...string) faultOp {
		res := v.run(t, stdin, args...)
		o := faultOp{worker: worker, kind: kind, id: id, code: res.code, took: res.took(), start: res.start, end: res.end, stderr: strings.TrimSpace(res.stderr)}
		l.add(o)
		return o
	}
	worker := func(name string, body func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				body(i)
			}
		}()
	}
	for c := range cfg.updaters {
		worker(fmt.Sprint("upd-", c), func(i int) {
			runOp(fmt.Sprint("upd-", c), "update", "", "", "update", "counter", "--", "sh", "-c", incrementScript)
		})
	}
	for _, k := range cfg.kinds {
		switch k {
		case "write":
			worker("write", func(i int) {
				id := fmt.Sprintf("w%d", i)
				runOp("write", "write", id, string(makePayload(id, 2000+i%7*1000)), "write", "wdir/file")
			})
		case "append":
			worker("append", func(i int) {
				id := fmt.Sprintf("line-%05d", i)
				runOp("append", "append", id, id+"\n", "append", "logs/app.log")
			})
		case "lock":
			worker("lock", func(i int) {
				id := fmt.Sprintf("L%d", i)
				runOp("lock", "lock", id, "", "lock", "lk", "--", "sh", "-c", lockLogScript, "sh", id, lockLog)
			})
			worker("lock2", func(i int) {
				id := fmt.Sprintf("M%d", i)
				runOp("lock2", "lock", id, "", "lock", "lk", "--", "sh", "-c", lockLogScript, "sh", id, lockLog)
			})
		case "nested":
			worker("nested", func(i int) {
				id := fmt.Sprintf("N%d", i)
				sw := strings.Join(append([]string{swBin}, v.args()...), " ")
				script := `T=; trap 'T=1' TERM; for j in 1 2; do ` + sw + ` update nc -- sh -c 'n=$(cat); echo $((${n:-0} + 1))' 2>"$2.err.$1-$j"; echo "$1-$j $?" >> "$2"; [ -n "$T" ] && exit 143; done; exit 0`
				runOp("nested", "lock-nested", id, "", "lock", "nc", "--", "sh", "-c", script, "sh", id, nestedLog)
			})
		case "initrm":
			worker("initrm", func(i int) {
				id := fmt.Sprintf("I%d", i)
				o := runOp("initrm", "init", id, "", "init", "cfg/x", "--", "sh", "-c", "echo "+id)
				_ = o
				runOp("initrm", "rm", id, "", "rm", "cfg/x")
			})
		case "move":
			worker("move", func(i int) {
				id := fmt.Sprintf("V%d", i)
				src := filepath.Join(spool, id)
				os.WriteFile(src, makePayload(id, 3000), 0o644)
				o := runOp("move", "move", id, "", "move", src, "mv/dst")
				if o.code != 0 {
					os.Remove(src)
				}
			})
		}
	}

	// fault injector
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t0 := time.Now()
	for time.Since(t0) < cfg.duration {
		gap := cfg.gapMin + time.Duration(rng.Int64N(int64(cfg.gapMax-cfg.gapMin)+1))
		time.Sleep(gap)
		injectFault(t, r, rng, cfg.ttl, cfg.faults, l)
	}
	// healthy again
	if r.PID() == 0 {
		r.Start()
	}
	l.fault("faults over")
	healthyAt := time.Now()
	time.Sleep(cfg.ttl * 2)
	stop.Store(true)
	wg.Wait()

	// After recovery, every kind works.
	post := map[string]faultOp{}
	post["update"] = runOp("post", "update", "", "", "update", "counter", "--", "sh", "-c", incrementScript)
	post["write"] = runOp("post", "write", "post", string(makePayload("post", 100)), "write", "wdir/file")
	post["append"] = runOp("post", "append", "line-post", "line-post\n", "append", "logs/app.log")
	post["lock"] = runOp("post", "lock", "P", "", "lock", "lk", "--", "sh", "-c", `echo "start P" >> "$1"; echo "end P" >> "$1"`, "sh", lockLog)
	post["init"] = runOp("post", "init", "post", "", "init", "cfg/post", "--", "echo", "post")
	src := filepath.Join(spool, "post")
	os.WriteFile(src, makePayload("postmv", 10), 0o644)
	post["move"] = runOp("post", "move", "postmv", "", "move", src, "mv/dst")
	post["rm"] = runOp("post", "rm", "", "", "rm", "cfg/post")
	for k, o := range post {
		if o.code != 0 {
			t.Errorf("after Redis healthy: %s exit %d: %s", k, o.code, o.stderr)
		}
	}

	// Judge.
	l.mu.Lock()
	ops := slices.Clone(l.ops)
	faults := slices.Clone(l.faults)
	l.mu.Unlock()
	bound := cfg.timeout + cfg.ttl + 4*time.Second
	codes := map[string]map[int]int{}
	committedUpd := 0
	for _, o := range ops {
		if codes[o.kind] == nil {
			codes[o.kind] = map[int]int{}
		}
		codes[o.kind][o.code]++
		if o.kind == "update" && (o.code == 0 || o.code == 7) {
			committedUpd++
		}
		if o.took > bound {
			t.Errorf("%s %s %s took %v > bound %v (exit %d) [%s..%s]: %s", o.worker, o.kind, o.id, o.took.Round(time.Millisecond), bound, o.code, o.start.Format("15:04:05.000"), o.end.Format("15:04:05.000"), o.stderr)
		}
		switch o.code {
		case 0, 3, 4, 6:
		default:
			if !(o.kind == "rm" && o.code == 1 && strings.Contains(o.stderr, "no such file")) {
				t.Errorf("%s %s %s: unexpected exit %d [%s..%s]: %s", o.worker, o.kind, o.id, o.code, o.start.Format("15:04:05.000"), o.end.Format("15:04:05.000"), o.stderr)
			}
		}
	}
	t.Logf("exit codes per kind: %v; faults: %d; healthy at %s", codes, len(faults), healthyAt.Format("15:04:05.000"))
	sampled := map[string]int{}
	for _, o := range ops {
		k := fmt.Sprintf("%s/%d", o.kind, o.code)
		if o.code != 0 && sampled[k] < 2 {
			sampled[k]++
			t.Logf("sample %s %s [%s..%s] took %v: %s", k, o.id, o.start.Format("15:04:05.000"), o.end.Format("15:04:05.000"), o.took.Round(time.Millisecond), o.stderr)
		}
	}
	for _, f := range faults {
		t.Logf("fault: %s", f)
	}

	// counter
	if cfg.updaters > 0 {
		b, err := os.ReadFile(filepath.Join(root, "counter"))
		got, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			t.Errorf("counter unreadable: %q %v %v", b, err, perr)
		} else if got != committedUpd {
			t.Errorf("counter = %d; want %d (exit-0/7 updates)", got, committedUpd)
			dumpAround(t, ops, "update")
		}
		t.Logf("counter %d, committed updates %d", got, committedUpd)
	}
	if slices.Contains(cfg.kinds, "write") {
		b, err := os.ReadFile(filepath.Join(root, "wdir/file"))
		if err != nil {
			t.Errorf("read wdir/file: %v", err)
		} else if id, err := payloadID(b); err != nil {
			t.Errorf("wdir/file torn: %v", err)
		} else if id != "post" {
			t.Errorf("wdir/file holds %s; want post (the last acknowledged write)", id)
		}
	}
	if slices.Contains(cfg.kinds, "append") {
		acked := map[string]bool{}
		failed := map[string]bool{}
		for _, o := range ops {
			if o.kind == "append" {
				if o.code == 0 {
					acked[o.id] = true
				} else {
					failed[o.id] = true
				}
			}
		}
		f, err := os.Open(filepath.Join(root, "logs/app.log"))
		if err != nil {
			t.Errorf("open log: %v", err)
		} else {
			seen := map[string]int{}
			s := bufio.NewScanner(f)
			for s.Scan() {
				seen[s.Text()]++
			}
			f.Close()
			for id := range acked {
				if seen[id] != 1 {
					t.Errorf("acknowledged append %s appears %d times", id, seen[id])
				}
			}
			for id, n := range seen {
				if !acked[id] {
					t.Errorf("log holds %s (%d times) from an append that exited non-zero", id, n)
				}
			}
			t.Logf("append: %d acked, %d failed, %d distinct lines", len(acked), len(failed), len(seen))
		}
	}
	if slices.Contains(cfg.kinds, "lock") {
		b, _ := os.ReadFile(lockLog)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		type iv struct{ s, e int64 }
		ivs := map[string]*iv{}
		for _, ln := range lines {
			f := strings.Fields(ln)
			if len(f) != 3 {
				continue
			}
			ts, _ := strconv.ParseInt(f[2], 10, 64)
			if ivs[f[1]] == nil {
				ivs[f[1]] = &iv{}
			}
			switch f[0] {
			case "start":
				ivs[f[1]].s = ts
			default:
				ivs[f[1]].e = ts
			}
		}
		codeOf := map[string]faultOp{}
		for _, o := range ops {
			if o.kind == "lock" {
				codeOf[o.id] = o
			}
		}
		overlaps := 0
		for a, x := range ivs {
			for b, y := range ivs {
				if a >= b {
					continue
				}
				xe, ye := x.e, y.e
				if xe == 0 {
					xe = 1 << 62
				}
				if ye == 0 {
					ye = 1 << 62
				}
				if x.s < ye && y.s < xe {
					overlaps++
					t.Errorf("lock CMDs overlap: %s [%d..%d] exit %d (%s) and %s [%d..%d] exit %d (%s)", a, x.s, x.e, codeOf[a].code, codeOf[a].stderr, b, y.s, y.e, codeOf[b].code, codeOf[b].stderr)
				}
			}
		}
		t.Logf("lock log: %d lines, %d overlaps", len(lines), overlaps)
	}
	if slices.Contains(cfg.kinds, "move") {
		b, err := os.ReadFile(filepath.Join(root, "mv/dst"))
		if err != nil {
			t.Errorf("read mv/dst: %v", err)
		} else if id, err := payloadID(b); err != nil || id != "postmv" {
			t.Errorf("mv/dst %q %v", id, err)
		}
	}
	if slices.Contains(cfg.kinds, "nested") {
		b, _ := os.ReadFile(nestedLog)
		ok, other := 0, map[string]int{}
		for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(ln)
			if len(f) == 2 && f[1] == "0" {
				ok++
			} else if len(f) == 2 {
				other[f[1]]++
			}
		}
		c, _ := os.ReadFile(filepath.Join(root, "nc"))
		got, _ := strconv.Atoi(strings.TrimSpace(string(c)))
		t.Logf("nested: %d exit-0 nested updates, others %v, nc=%d", ok, other, got)
		if got != ok {
			t.Errorf("nested counter nc = %d; want %d (exit-0 nested updates)", got, ok)
			for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				f := strings.Fields(ln)
				e, _ := os.ReadFile(nestedLog + ".err." + f[0])
				if len(f) == 2 && (f[1] != "0" || len(e) > 0) {
					t.Logf("nested %s exit %s: %s", f[0], f[1], e)
				}
			}
		}
	}
	if tm := temps(t, root); len(tm) > 0 {
		t.Errorf("temps left: %v", tm)
	}
	// Any other leftovers in the root besides expected files?
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".sharedwrite" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("leftover hidden file: %s", rel)
		}
		return nil
	})
	ents, _ := os.ReadDir(spool)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover in spool: %s", e.Name())
		}
	}
}

func dumpAround(t *testing.T, ops []faultOp, kind string) {
	for _, o := range ops {
		if o.kind == kind && o.code != 0 {
			t.Logf("  %s %s exit %d [%s..%s]: %s", o.worker, o.kind, o.code, o.start.Format("15:04:05.000"), o.end.Format("15:04:05.000"), o.stderr)
		}
	}
}

var allFaults = []string{"stop-short", "stop-long", "restart", "pause", "debugsleep", "clientkill", "clientkillpubsub", "scriptflush", "flushall"}

// TestRandomRedisFaults runs CLI operations of every kind (update, write,
// append, lock, init and rm, move) in several processes for 15 s while
// redis-server is stopped, paused, slowed, restarted empty, flushed or has
// its clients and scripts dropped at random moments, and checks what each
// exit code says: the counter equals the updates that exited 0, the written
// file is the last acknowledged write and whole, every acknowledged append
// is in the log once and no refused one is, lock commands never overlap, no
// process outlives its bounds, nothing is left behind, and everything works
// once Redis is healthy again.
func TestRandomRedisFaults(t *testing.T) {
	runFaultMix(t, faultMix{ttl: time.Second, timeout: 3 * time.Second, duration: 15 * time.Second, faults: allFaults, updaters: 2,
		kinds: []string{"write", "append", "lock", "initrm", "move"}, gapMin: 200 * time.Millisecond, gapMax: 1500 * time.Millisecond})
}
