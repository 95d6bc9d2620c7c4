package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// watchProc is a `sharedwrite watch` process whose output lines are
// timestamped as they arrive.
type watchProc struct {
	cmd   *exec.Cmd
	errb  testrig.SyncBuffer
	done  chan struct{}
	code  int
	mu    sync.Mutex
	lines []timedLine
	more  chan struct{}
}

type timedLine struct {
	at   time.Time
	text string
}

// startWatch starts `sharedwrite --root root [--redis url] watch args...`.
func startWatch(t *testing.T, v volume, args ...string) *watchProc {
	t.Helper()
	p := &watchProc{done: make(chan struct{}), more: make(chan struct{}, 1)}
	p.cmd = exec.Command(swBin, v.args(append([]string{"watch"}, args...)...)...)
	p.cmd.Env = baseEnv()
	p.cmd.Stderr = &p.errb
	testrig.OwnGroup(p.cmd)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sharedwrite watch: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, timedLine{at: time.Now(), text: sc.Text()})
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	testrig.KillGroupOnCleanup(t, p.cmd, p.done)
	return p
}

func (p *watchProc) got() []timedLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

// waitLine waits until a line satisfies ok, within d.
func (p *watchProc) waitLine(t *testing.T, d time.Duration, what string, ok func(string) bool) timedLine {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, l := range p.got() {
			if ok(l.text) {
				return l
			}
		}
		select {
		case <-p.more:
		case <-p.done:
			for _, l := range p.got() {
				if ok(l.text) {
					return l
				}
			}
			t.Fatalf("watch exited (%d) before %s; stdout %d lines; stderr: %s", p.code, what, len(p.got()), p.errb.String())
		case <-deadline:
			t.Fatalf("watch did not deliver %s within %v; %d lines; stderr: %s", what, d, len(p.got()), p.errb.String())
		}
	}
}

// stop sends sig and wants a clean exit (0) within 10 s.
func (p *watchProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		if p.code != 0 {
			t.Errorf("watch after %v: exit %d; want 0; stderr: %s", sig, p.code, p.errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("watch still running 10s after %v", sig)
	}
}

// watchEvent is one line of `watch --json`.
type watchEvent struct {
	Path    string    `json:"path"`
	Token   uint64    `json:"token"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Time    time.Time `json:"time"`
	Deleted bool      `json:"deleted"`
	Initial bool      `json:"initial"`
	at      time.Time
}

func parseEvents(t *testing.T, lines []timedLine) []watchEvent {
	t.Helper()
	evs := make([]watchEvent, 0, len(lines))
	for _, l := range lines {
		var ev watchEvent
		if err := json.Unmarshal([]byte(l.text), &ev); err != nil {
			t.Fatalf("watch --json line %q: %v", l.text, err)
		}
		ev.at = l.at
		evs = append(evs, ev)
	}
	return evs
}

// cmdLine is one line printed by shaCmd: the event's token and sha256, the
// sha256 of what the command got on stdin, and the commit time.
type cmdLine struct {
	token    uint64
	eventSHA string
	gotSHA   string
	time     time.Time
	at       time.Time
}

// shaCmd prints, for each delivered version, the event and the sha256 of the
// content it was handed.
var shaCmd = []string{"--", "sh", "-c", `echo "$SHAREDWRITE_TOKEN $SHAREDWRITE_SHA256 $(sha256sum | cut -c1-64) $SHAREDWRITE_TIME"`}

func parseCmdLines(t *testing.T, lines []timedLine) []cmdLine {
	t.Helper()
	out := make([]cmdLine, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l.text)
		if len(f) != 4 {
			t.Fatalf("watch -- CMD line %q: want token, event sha256, content sha256, time", l.text)
		}
		tok, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("token in %q: %v", l.text, err)
		}
		tm, err := time.Parse(time.RFC3339Nano, f[3])
		if err != nil {
			t.Fatalf("time in %q: %v", l.text, err)
		}
		out = append(out, cmdLine{token: tok, eventSHA: f[1], gotSHA: f[2], time: tm, at: l.at})
	}
	return out
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// openWriter opens a coordinator on v for the test's writer.
func openWriter(t *testing.T, v volume, opts ...coordinator.Option) *coordinator.Coordinator {
	t.Helper()
	if v.redis != "" {
		opts = append(opts, coordinator.WithRedisURL(v.redis))
	}
	c, err := coordinator.Open(context.Background(), v.root, opts...)
	if err != nil {
		t.Fatalf("open the writer on %s: %v", v.root, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// content is the i-th version the writers write.
func content(i int) []byte {
	return []byte(fmt.Sprintf("version %d\n%s\n", i, strings.Repeat("x", i%97)))
}

// order maps each written content's sha256 to its write index.
type order map[string]int

// checkDelivered checks one watcher's deliveries: strictly increasing tokens,
// each content a written one, written later than the previous delivery's.
func (o order) check(t *testing.T, who string, toks []uint64, shas []string) {
	t.Helper()
	prevTok, prevIdx := uint64(0), -1
	for i := range toks {
		idx, ok := o[shas[i]]
		if !ok {
			t.Errorf("%s: delivery %d (token %d) has sha256 %s, which no write produced", who, i, toks[i], shas[i])
			continue
		}
		if i > 0 && toks[i] <= prevTok {
			t.Errorf("%s: delivery %d: token %d after %d; want strictly increasing", who, i, toks[i], prevTok)
		}
		if idx <= prevIdx {
			t.Errorf("%s: delivery %d: write %d after write %d; old content delivered as new", who, i, idx, prevIdx)
		}
		prevTok, prevIdx = toks[i], idx
	}
}

// TestWatchThreeWatchersTwoHundredUpdates: three `watch --json` processes and
// one `watch -- CMD` that hashes what it gets, while one writer commits 200
// updates: each sees strictly increasing tokens, ends at the last version,
// and every delivered content's sha256 equals its event's.
func TestWatchThreeWatchersTwoHundredUpdates(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			w := openWriter(t, v)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const n = 200
			ord := order{}
			if err := w.WriteFile(ctx, "cfg", content(0), 0o644); err != nil {
				t.Fatal(err)
			}
			ord[shaHex(content(0))] = 0

			var jsonWatchers []*watchProc
			for range 3 {
				jsonWatchers = append(jsonWatchers, startWatch(t, v, "cfg", "--initial", "--json"))
			}
			cmdWatcher := startWatch(t, v, append([]string{"cfg", "--initial"}, shaCmd...)...)
			for _, p := range append(slices.Clone(jsonWatchers), cmdWatcher) {
				p.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
			}

			for i := 1; i <= n; i++ {
				if err := w.WriteFile(ctx, "cfg", content(i), 0o644); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				ord[shaHex(content(i))] = i
			}
			last := shaHex(content(n))
			var lastTokens []uint64
			for i, p := range jsonWatchers {
				p.waitLine(t, time.Minute, "the last version", func(s string) bool { return strings.Contains(s, last) })
				evs := parseEvents(t, p.got())
				toks, shas := make([]uint64, len(evs)), make([]string, len(evs))
				for j, ev := range evs {
					toks[j], shas[j] = ev.Token, ev.SHA256
					if ev.Initial != (j == 0) {
						t.Errorf("watcher %d: delivery %d initial=%v; want only the first", i, j, ev.Initial)
					}
				}
				ord.check(t, fmt.Sprintf("watcher %d", i), toks, shas)
				lastTokens = append(lastTokens, toks[len(toks)-1])
				t.Logf("watcher %d: %d deliveries for %d writes", i, len(evs), n+1)
			}
			p := cmdWatcher
			p.waitLine(t, time.Minute, "the last version", func(s string) bool { return strings.Contains(s, last) })
			cls := parseCmdLines(t, p.got())
			toks, shas := make([]uint64, len(cls)), make([]string, len(cls))
			for j, cl := range cls {
				if cl.gotSHA != cl.eventSHA {
					t.Errorf("CMD watcher: token %d: content sha256 %s; event says %s", cl.token, cl.gotSHA, cl.eventSHA)
				}
				toks[j], shas[j] = cl.token, cl.gotSHA
			}
			ord.check(t, "CMD watcher", toks, shas)
			lastTokens = append(lastTokens, toks[len(toks)-1])
			for i, tok := range lastTokens {
				if tok != lastTokens[0] {
					t.Errorf("watcher %d ended at token %d; watcher 0 at %d; want the same last version", i, tok, lastTokens[0])
				}
			}
			for i, p := range append(jsonWatchers, cmdWatcher) {
				sig := syscall.SIGTERM
				if i%2 == 1 {
					sig = syscall.SIGINT
				}
				p.stop(t, sig)
			}
		})
	}
}

// TestWatchCatchesUpAfterRedisRestart restarts redis-server (no persistence)
// under two running watchers: they report the outage once each and deliver up
// to the last version without being restarted.
func TestWatchCatchesUpAfterRedisRestart(t *testing.T) {
	testrig.NeedBinary(t, "redis-server")
	r := testrig.StartRedis(t)
	v := newVolume(t, mode{name: "redis", redis: r.URL()})
	w := openWriter(t, v)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ord := order{}
	write := func(i int) {
		t.Helper()
		if err := w.WriteFile(ctx, "cfg", content(i), 0o644); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		ord[shaHex(content(i))] = i
	}
	write(0)
	ps := []*watchProc{
		startWatch(t, v, "cfg", "--initial", "--json"),
		startWatch(t, v, "cfg", "--initial", "--json", "--interval", "3s"),
	}
	for _, p := range ps {
		p.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
	}
	for i := 1; i <= 30; i++ {
		write(i)
	}
	r.Kill()
	time.Sleep(2 * time.Second) // several reconnection attempts
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 31; i <= 60; i++ {
		write(i)
	}
	last := shaHex(content(60))
	for i, p := range ps {
		p.waitLine(t, time.Minute, "the last version after the restart", func(s string) bool { return strings.Contains(s, last) })
		evs := parseEvents(t, p.got())
		toks, shas := make([]uint64, len(evs)), make([]string, len(evs))
		for j, ev := range evs {
			toks[j], shas[j] = ev.Token, ev.SHA256
		}
		ord.check(t, fmt.Sprintf("watcher %d", i), toks, shas)
		if n := strings.Count(p.errb.String(), "notifications unavailable"); n != 1 {
			t.Errorf("watcher %d reported the outage %d times; want once; stderr:\n%s", i, n, p.errb.String())
		}
		p.stop(t, syscall.SIGTERM)
	}
}

// quantiles returns the p50 and p99 of ds.
func quantiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

// measureLatency writes n versions through w, spaced by gap, while p (a
// `watch --json` process) delivers them; it returns the latencies from each
// version's commit time (set just before its rename) to the line's arrival.
func measureLatency(t *testing.T, w *coordinator.Coordinator, p *watchProc, n int, gap time.Duration) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := len(p.got())
	for i := 1; i <= n; i++ {
		if err := w.WriteFile(ctx, "cfg", content(i), 0o644); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		time.Sleep(gap)
	}
	last := shaHex(content(n))
	p.waitLine(t, 2*time.Minute, "the last version", func(s string) bool { return strings.Contains(s, last) })
	evs := parseEvents(t, p.got()[before:])
	ds := make([]time.Duration, 0, len(evs))
	for _, ev := range evs {
		ds = append(ds, ev.at.Sub(ev.Time))
	}
	if len(evs) < n {
		t.Logf("%d of %d versions delivered (the others were superseded before delivery)", len(evs), n)
	}
	return ds
}

// TestWatchLocalModeLatency: a watcher process and a writer (this process) on
// one host in local mode; the notification latency is measured and printed.
func TestWatchLocalModeLatency(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	w := openWriter(t, v)
	if err := w.WriteFile(context.Background(), "cfg", content(0), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startWatch(t, v, "cfg", "--initial", "--json")
	p.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
	ds := measureLatency(t, w, p, 50, 20*time.Millisecond)
	p50, p99 := quantiles(ds)
	t.Logf("local mode, two processes: commit -> delivery p50 %v p99 %v (%d deliveries)", p50, p99, len(ds))
	p.stop(t, syscall.SIGTERM)
}

// TestWatchTextOutputAndRemoval: the text line of each version, and a removal
// delivered as a deleted version (to the printing watcher and, with an empty
// stdin and SHAREDWRITE_DELETED=1, to CMD).
func TestWatchTextOutputAndRemoval(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "first", "write", "cfg", "--from", "-"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			text := startWatch(t, v, "cfg", "--initial")
			cmd := startWatch(t, v, "cfg", "--initial", "--", "sh", "-c", `echo "$SHAREDWRITE_PATH $SHAREDWRITE_DELETED $SHAREDWRITE_INITIAL $(wc -c)"`)
			l := text.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
			want := `"cfg" token=`
			if !strings.HasPrefix(l.text, want) || !strings.Contains(l.text, " sha256="+shaHex([]byte("first"))+" size=5 ") || !strings.HasSuffix(l.text, " initial") {
				t.Errorf("text line %q; want %s<n> sha256=%s size=5 ... initial", l.text, want, shaHex([]byte("first")))
			}
			cmd.waitLine(t, 30*time.Second, "the initial version", func(s string) bool { return s == "cfg 0 1 5" })
			if r := v.run(t, "", "rm", "cfg"); r.code != 0 {
				t.Fatalf("rm: exit %d: %s", r.code, r.stderr)
			}
			text.waitLine(t, 30*time.Second, "the removal", func(s string) bool { return strings.HasSuffix(s, " deleted") })
			cmd.waitLine(t, 30*time.Second, "the removal", func(s string) bool { return s == "cfg 1 0 0" })
			text.stop(t, syscall.SIGTERM)
			cmd.stop(t, syscall.SIGTERM)
		})
	}
}

// TestWatchUnrecordedFile: a file written by other means has no recorded
// version (token 0): its writer and commit time are unknown, printed as "-"
// and handed to CMD empty, not as "/0" and the zero time.
func TestWatchUnrecordedFile(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if err := os.WriteFile(filepath.Join(v.root, "cfg"), []byte("by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := startWatch(t, v, "cfg", "--initial")
	cmd := startWatch(t, v, "cfg", "--initial", "--", "sh", "-c", `echo "[$SHAREDWRITE_TOKEN] [$SHAREDWRITE_WRITER] [$SHAREDWRITE_TIME]"`)
	l := text.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
	if want := " size=7 writer=- time=- initial"; !strings.HasPrefix(l.text, `"cfg" token=0 `) || !strings.HasSuffix(l.text, want) {
		t.Errorf("text line %q; want \"cfg\" token=0 ...%s", l.text, want)
	}
	if l := cmd.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true }); l.text != "[0] [] []" {
		t.Errorf("CMD printed %q for token, writer and time; want \"[0] [] []\"", l.text)
	}
	text.stop(t, syscall.SIGTERM)
	cmd.stop(t, syscall.SIGTERM)
}

func TestWatchUsage(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, args := range [][]string{{"watch"}, {"watch", "a", "b"}, {"watch", "cfg", "--"}} {
		if r := v.run(t, "", args...); r.code != 2 {
			t.Errorf("sharedwrite %q: exit %d; want 2 (usage); stderr %s", args, r.code, r.stderr)
		}
	}
}
