package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

type doctorJSON struct {
	Mode  string                `json:"mode"`
	FS    struct{ Type string } `json:"fs"`
	Probe struct {
		SameDevice bool   `json:"same_device"`
		Link       string `json:"link"`
		NoReplace  string `json:"rename_noreplace"`
		DirFsync   string `json:"dir_fsync"`
		FileLock   string `json:"file_lock"`
	} `json:"probe"`
	LockScope string `json:"lock_scope"`
	Peer      *struct {
		Propagates bool `json:"propagates"`
		SameHost   bool `json:"same_host"`
	} `json:"peer"`
	RedisErr string `json:"redis_error"`
	RedisRTT *struct {
		P50 time.Duration `json:"p50_ns"`
		Max time.Duration `json:"max_ns"`
	} `json:"redis_rtt"`
	SuggestTTL  time.Duration `json:"suggested_lease_ttl_ns"`
	SuggestMarg time.Duration `json:"suggested_commit_margin_ns"`
	Fencing     string        `json:"fencing"`
	Problems    []string      `json:"problems"`
}

func parseDoctor(t *testing.T, r result) doctorJSON {
	t.Helper()
	var d doctorJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("doctor --json output %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	return d
}

// TestDoctorLocal: on the test's temp directory (a local filesystem) every
// probe passes and the single-host fencing guarantee is reported.
func TestDoctorLocal(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			r := v.run(t, "", "doctor", "--json")
			if r.code != 0 {
				t.Fatalf("doctor: exit %d; stdout %s; stderr %s", r.code, r.stdout, r.stderr)
			}
			d := parseDoctor(t, r)
			// doctor leaves the volume as it found it.
			left := filepath.Join(v.root, ".sharedwrite", "doctor")
			if m.redis == "" {
				left = filepath.Join(v.root, ".sharedwrite")
			}
			if _, err := os.Stat(left); !os.IsNotExist(err) {
				t.Errorf("%s after doctor: stat error %v; want it removed", left, err)
			}
			if d.Mode != m.name {
				t.Errorf("mode: got %q; want %q", d.Mode, m.name)
			}
			p := d.Probe
			if !p.SameDevice || p.Link != "ok" || p.NoReplace != "ok" || p.DirFsync != "accepted" || p.FileLock != "works" {
				t.Errorf("probes: got %+v; want all passing on a local filesystem", p)
			}
			if d.LockScope != "host" || !strings.HasPrefix(d.Fencing, "one host") {
				t.Errorf("lock scope %q, fencing %q; want host / one host (fs %q)", d.LockScope, d.Fencing, d.FS.Type)
			}
			if d.SuggestTTL < 5*d.SuggestMarg || d.SuggestMarg <= 0 {
				t.Errorf("suggested TTL %v, margin %v; want a positive margin and TTL >= 5 margins", d.SuggestTTL, d.SuggestMarg)
			}
			if (d.RedisRTT != nil) != (m.redis != "") {
				t.Errorf("redis RTT %+v in %s mode", d.RedisRTT, m.name)
			}
			if rtt := d.RedisRTT; rtt != nil && (rtt.P50 <= 0 || rtt.Max < rtt.P50) {
				t.Errorf("redis RTT: p50 %v, max %v; want 0 < p50 <= max", rtt.P50, rtt.Max)
			}
			if len(d.Problems) != 0 {
				t.Errorf("problems: %q", d.Problems)
			}
			// The text table names every probe.
			r = v.run(t, "", "doctor")
			for _, want := range []string{"filesystem", "temp + rename", "create-only", "directory fsync", "file lock", "stale-view window", "suggested", "fencing", "verdict"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("doctor table lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestDoctorRedisUnreachable(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	port, err := testrig.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v.redis = fmt.Sprintf("redis://:hunter2-pw@127.0.0.1:%d", port)
	r := v.run(t, "", "--timeout", "2s", "doctor")
	if r.code != 6 {
		t.Errorf("doctor with Redis down: exit %d; want 6; stderr %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2-pw") {
		t.Errorf("doctor printed the password:\n%s%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "127.0.0.1") {
		t.Errorf("doctor output does not name the Redis address:\n%s", r.stdout)
	}
}

// TestDoctorPeer: two doctors at once on one volume meet and find that a lock
// taken by one is seen by the other (one host: it must).
func TestDoctorPeer(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	a := v.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	b := v.start(t, "doctor", "--peer", "--peer-wait", "30s", "--json")
	for _, s := range []*started{a, b} {
		code := s.wait(t, 60*time.Second)
		r := result{code: code, stdout: s.out.String(), stderr: s.errb.String()}
		if code != 0 {
			t.Fatalf("doctor --peer: exit %d; stdout %s; stderr %s", code, r.stdout, r.stderr)
		}
		d := parseDoctor(t, r)
		if d.Peer == nil || !d.Peer.Propagates || !d.Peer.SameHost {
			t.Errorf("peer result: got %+v; want locks propagating, same host", d.Peer)
		}
	}
	// Alone, the peer test gives up after --peer-wait and says so.
	r := v.run(t, "", "doctor", "--peer", "--peer-wait", "300ms")
	if r.code != 5 || !strings.Contains(r.stderr, "no peer") {
		t.Errorf("doctor --peer alone: exit %d, stderr %q; want 5 and \"no peer\"", r.code, r.stderr)
	}
}

// TestBench runs a short bench in each mode and checks the report's shape.
func TestBench(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			r := v.run(t, "", "bench", "--json", "--ops", "8", "--workers", "2")
			if r.code != 0 {
				t.Fatalf("bench: exit %d; stderr %s", r.code, r.stderr)
			}
			var rep struct {
				Cases []struct {
					Name    string
					Ops     int
					OpsPerS float64       `json:"ops_per_s"`
					P50     time.Duration `json:"p50_ns"`
					P99     time.Duration `json:"p99_ns"`
				}
				Ping        *struct{ Ops int } `json:"redis_ping"`
				RTTPerWrite float64            `json:"redis_round_trips_per_write"`
				CoordOnBare float64            `json:"coordinated_over_bare_p50"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("bench --json %q: %v", r.stdout, err)
			}
			if len(rep.Cases) != 4 {
				t.Fatalf("cases: got %d; want 4 (bare, coordinated, contended, distinct)", len(rep.Cases))
			}
			for _, c := range rep.Cases {
				if c.Ops != 8 || c.OpsPerS <= 0 || c.P50 <= 0 || c.P99 < c.P50 {
					t.Errorf("case %+v; want 8 ops, positive rate, 0 < p50 <= p99", c)
				}
			}
			if rep.CoordOnBare <= 0 {
				t.Errorf("coordinated/bare: got %v; want > 0", rep.CoordOnBare)
			}
			if m.redis != "" && (rep.Ping == nil || rep.RTTPerWrite < 1) {
				t.Errorf("Redis mode: PING %+v, round trips per write %v; want a PING case and >= 1", rep.Ping, rep.RTTPerWrite)
			}
			if l := leftovers(t, v.root); len(l) > 0 {
				t.Errorf("bench left %q", l)
			}
		})
	}
}

// doctor on an initialised volume whose metadata cannot be used (a directory
// at .sharedwrite/config) names that, exit 5, as write does, instead of
// taking the volume for one never initialised and advising init-volume
// (which refuses it too).
func TestDoctorUnusableVolumeMetadata(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	cfg := filepath.Join(v.root, ".sharedwrite", "config")
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	if w := v.run(t, "x", "write", "f", "--from", "-"); w.code != 5 {
		t.Fatalf("write: exit %d; want 5: %s", w.code, w.stderr)
	}
	res := v.run(t, "", "doctor")
	out := res.stdout + res.stderr
	if res.code != 5 || strings.Contains(out, "not initialised") || strings.Contains(out, "init-volume") ||
		!strings.Contains(out, `".sharedwrite/config"`) || !strings.Contains(out, "directory") {
		t.Errorf("doctor: exit %d\nstdout: %s\nstderr: %s\nwant 5 naming .sharedwrite/config as a directory, not \"not initialised: run init-volume\"", res.code, res.stdout, res.stderr)
	}
}
