//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// sshfsCase is a cache mode of the two-mount rig and how stale mount B may
// stay after a change made through mount A.
type sshfsCase struct {
	cache  sshhost.Cache
	window time.Duration // twice the longest cache time the mount allows
	writes int
	gap    time.Duration
}

// sshfsCaseFor is "short" caching (2 s), or sshfs's default caching (about
// 20 s, like an NFS client) under SHAREDWRITE_SOAK=1.
func sshfsCaseFor() sshfsCase {
	if os.Getenv("SHAREDWRITE_SOAK") == "1" {
		return sshfsCase{cache: sshhost.Default, window: 40 * time.Second, writes: 4, gap: 8 * time.Second}
	}
	return sshfsCase{cache: sshhost.Short, window: 4 * time.Second, writes: 6, gap: time.Second}
}

// twoHosts mounts one export twice and returns a Redis-mode volume on each
// mount (initialised through the first).
func twoHosts(t *testing.T, cache sshhost.Cache) (a, b volume) {
	t.Helper()
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "sshfs")
	rs := needRedis(t)
	_, ms := sshhost.Mounts(t, 2, cache)
	m := mode{name: "redis", redis: rs.URL()}
	a = volume{mode: m, root: ms[0].Dir}
	b = volume{mode: m, root: ms[1].Dir}
	if r := a.run(t, "", "init-volume"); r.code != 0 {
		t.Fatalf("init-volume on mount A: exit %d: %s", r.code, r.stderr)
	}
	return a, b
}

// TestWatchAcrossSSHFSMounts: a writer on one sshfs mount, watchers on another
// whose caches serve the old file for a while after each change. The watchers
// deliver each new content within the staleness window (plus a margin), and
// never hand over the old content as a new version: the CMD watcher hashes what
// it was given, and every delivery is a later write than the one before.
func TestWatchAcrossSSHFSMounts(t *testing.T) {
	tc := sshfsCaseFor()
	a, b := twoHosts(t, tc.cache)
	w := openWriter(t, a, coordinator.AcceptUnconfirmedDurability())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ord := order{}
	if err := w.WriteFile(ctx, "cfg", content(0), 0o644); err != nil {
		t.Fatal(err)
	}
	ord[shaHex(content(0))] = 0
	margin := 15 * time.Second
	jw := startWatch(t, b, "cfg", "--initial", "--json", "--log-level", "debug")
	cw := startWatch(t, b, append([]string{"cfg", "--initial"}, shaCmd...)...)
	for _, p := range []*watchProc{jw, cw} {
		p.waitLine(t, tc.window+margin, "the initial version", func(string) bool { return true })
	}

	// A plain read through mount B right after each commit: with cached
	// attributes it shows the old file, or the new one cut at the old size.
	stale := 0
	var lastCommit time.Time
	for i := 1; i <= tc.writes; i++ {
		if err := w.WriteFile(ctx, "cfg", content(i), 0o644); err != nil {
			t.Fatalf("write %d on mount A: %v", i, err)
		}
		lastCommit = time.Now()
		ord[shaHex(content(i))] = i
		if got, err := os.ReadFile(b.root + "/cfg"); err == nil && string(got) != string(content(i)) {
			stale++
		}
		time.Sleep(tc.gap)
	}
	t.Logf("a plain read on mount B right after the commit showed content of no version after %d of %d writes", stale, tc.writes)

	last := shaHex(content(tc.writes))
	bound := tc.window + margin
	for _, p := range []*watchProc{jw, cw} {
		l := p.waitLine(t, bound, "the last version", func(s string) bool { return strings.Contains(s, last) })
		if d := l.at.Sub(lastCommit); d > bound {
			t.Errorf("the last version reached the watcher %v after its commit; want within the stale window %v + %v", d, tc.window, margin)
		}
	}

	evs := parseEvents(t, jw.got())
	toks, shas := make([]uint64, len(evs)), make([]string, len(evs))
	lat := make([]time.Duration, 0, len(evs))
	for j, ev := range evs {
		toks[j], shas[j] = ev.Token, ev.SHA256
		if j > 0 {
			lat = append(lat, ev.at.Sub(ev.Time))
		}
	}
	ord.check(t, "JSON watcher on mount B", toks, shas)
	cls := parseCmdLines(t, cw.got())
	toks, shas = make([]uint64, len(cls)), make([]string, len(cls))
	for j, cl := range cls {
		if cl.gotSHA != cl.eventSHA {
			t.Errorf("CMD watcher on mount B: token %d: handed content with sha256 %s; the version's is %s (stale content delivered)", cl.token, cl.gotSHA, cl.eventSHA)
		}
		toks[j], shas[j] = cl.token, cl.gotSHA
	}
	ord.check(t, "CMD watcher on mount B", toks, shas)
	p50, p99 := quantiles(lat)
	t.Logf("sshfs %s caching, writer on A, watcher on B: commit -> delivery p50 %v p99 %v (%d deliveries)", tc.cache, p50, p99, len(lat))
	t.Logf("the watcher re-read a stale view before %d of its deliveries", strings.Count(jw.errb.String(), "caught up"))
	jw.stop(t, syscall.SIGTERM)
	cw.stop(t, syscall.SIGINT)
}

// TestWatchLatencyFigures prints the notification latency (commit -> delivery
// to a `watch --json` process) with Redis on loopback: volume on the root
// disk, on tmpfs, and across two sshfs mounts (coherent and short caching;
// default caching too under SHAREDWRITE_SOAK=1). Run with SHAREDWRITE_BENCH=1.
func TestWatchLatencyFigures(t *testing.T) {
	if os.Getenv("SHAREDWRITE_BENCH") != "1" {
		t.Skip("figures only: set SHAREDWRITE_BENCH=1")
	}
	rs := needRedis(t)
	m := mode{name: "redis", redis: rs.URL()}
	type result struct {
		name     string
		p50, p99 time.Duration
		n        int
	}
	var results []result
	measure := func(name string, a, b volume, n int, gap time.Duration, opts ...coordinator.Option) {
		t.Helper()
		w := openWriter(t, a, opts...)
		if err := w.WriteFile(context.Background(), "cfg", content(0), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startWatch(t, b, "cfg", "--initial", "--json")
		p.waitLine(t, time.Minute, "the initial version", func(string) bool { return true })
		ds := measureLatency(t, w, p, n, gap)
		p50, p99 := quantiles(ds)
		results = append(results, result{name, p50, p99, len(ds)})
		p.stop(t, syscall.SIGTERM)
	}

	disk := volume{mode: m, root: t.TempDir()}
	if r := disk.run(t, "", "init-volume"); r.code != 0 {
		t.Fatalf("init-volume: %s", r.stderr)
	}
	measure("root disk (ext4), one host", disk, disk, 200, 10*time.Millisecond)

	tmp := volume{mode: m, root: testrig.Tmpfs(t, "64m")}
	if r := tmp.run(t, "", "init-volume"); r.code != 0 {
		t.Fatalf("init-volume: %s", r.stderr)
	}
	measure("tmpfs, one host", tmp, tmp, 200, 10*time.Millisecond)

	caches := []struct {
		cache sshhost.Cache
		n     int
		gap   time.Duration
	}{{sshhost.Coherent, 50, 50 * time.Millisecond}, {sshhost.Short, 20, 500 * time.Millisecond}}
	if os.Getenv("SHAREDWRITE_SOAK") == "1" {
		caches = append(caches, struct {
			cache sshhost.Cache
			n     int
			gap   time.Duration
		}{sshhost.Default, 6, 5 * time.Second})
	}
	for _, c := range caches {
		a, b := twoHosts(t, c.cache)
		measure(fmt.Sprintf("sshfs %s caching, writer on mount A, watcher on mount B", c.cache), a, b, c.n, c.gap, coordinator.AcceptUnconfirmedDurability())
	}
	for _, r := range results {
		t.Logf("watch latency, Redis on loopback, %s: p50 %v p99 %v (%d deliveries)", r.name, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.n)
	}
}
