package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// The contract of `bench`: usage errors, volume modes and bad roots, its
// figures, concurrency, signals, stdout and Redis going away.

// noNewEntries checks that root holds nothing new: no bench directory, no
// lock file of the bench's names, and no volume metadata unless the root held
// a volume already (opening one may make its lock directory, as any command
// does); on a root that held none, a bench must not initialise it.
func noNewEntries(t *testing.T, root string, before []string) {
	t.Helper()
	had := slices.Contains(before, ".sharedwrite/volume-id")
	for _, p := range newEntries(before, treeOf(t, root)) {
		if !had || p != ".sharedwrite/locks" && p != ".sharedwrite/tx" {
			t.Errorf("bench left %q in the root", p)
		}
	}
}

// Bad flags (zero or negative counts, a payload over 64 MiB, more than 64
// workers, an argument) are usage errors (exit 2) that create nothing.
func TestBenchUsageErrors(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"--ops", "0"}, {"--ops", "-1"}, {"--size", "-1"}, {"--workers", "0"}, {"--workers", "-2"},
		{"--ops", "x"}, {"--size", "1e3"}, {"extra"},
		{"--size", "67108865"}, {"--size", "1099511627776"}, {"--workers", "65"},
	} {
		r := runCLI(t, nil, "", append([]string{"--root", root, "bench"}, args...)...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Run 'sharedwrite --help'") {
			t.Errorf("bench %q: exit %d, stdout %q, stderr %q; want 2", args, r.code, r.stdout, r.stderr)
		}
	}
	if e, _ := os.ReadDir(root); len(e) != 0 {
		t.Errorf("usage errors created %v in the root", e)
	}
}

// Redis mode on a volume never initialised, and a mode the volume was not
// initialised for, exit 5 naming the cause and leave no bench directory.
func TestBenchVolumeModes(t *testing.T) {
	needRedis(t)
	url := redisSrv.URL()
	// Redis mode on a volume never initialised: exit 5, nothing created.
	bare := t.TempDir()
	r := runCLI(t, nil, "", "--root", bare, "--redis", url, "bench", "--ops", "2")
	if r.code != 5 || !strings.Contains(r.stderr, "init-volume") {
		t.Errorf("redis bench on an uninitialised volume: exit %d, stderr %q; want 5 naming init-volume", r.code, r.stderr)
	}
	if e, _ := os.ReadDir(bare); len(e) != 0 {
		t.Errorf("it created %v", e)
	}
	// Local mode on a Redis volume, and the reverse: exit 5 (mode mismatch).
	rv := newVolume(t, mode{name: "redis", redis: url})
	if r := runCLI(t, nil, "", "--root", rv.root, "bench", "--ops", "2"); r.code != 5 || !strings.Contains(r.stderr, "mismatch") {
		t.Errorf("local bench on a redis volume: exit %d, stderr %q; want 5", r.code, r.stderr)
	}
	lv := newVolume(t, mode{name: "local"})
	if r := lv.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, nil, "", "--root", lv.root, "--redis", url, "bench", "--ops", "2"); r.code != 5 || !strings.Contains(r.stderr, "mismatch") {
		t.Errorf("redis bench on a local volume: exit %d, stderr %q; want 5", r.code, r.stderr)
	}
	for _, root := range []string{rv.root, lv.root} {
		if d := benchDirs(t, root); len(d) > 0 {
			t.Errorf("left %q", d)
		}
	}
}

// A root that is a file, a missing root and a read-only root (fresh or
// initialised) give one clear error and change nothing.
func TestBenchBadRoots(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("keep\n"), 0o644)
	if r := runCLI(t, nil, "", "--root", file, "bench"); r.code != 5 || !strings.Contains(r.stderr, "afile") || !strings.Contains(r.stderr, "not a directory") {
		t.Errorf("root is a file: exit %d, stderr %q; want 5 naming it and ENOTDIR", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep\n" {
		t.Errorf("the file was changed: %q", b)
	}
	missing := filepath.Join(dir, "missing")
	if r := runCLI(t, nil, "", "--root", missing, "bench"); r.code == 0 || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing root: exit %d, stderr %q", r.code, r.stderr)
	}

	if os.Geteuid() != 0 {
		t.Skip("read-only mounts need root")
	}
	for _, init := range []bool{false, true} {
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o755)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", ro).CombinedOutput(); err != nil {
			t.Skipf("mount tmpfs: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", ro).Run() })
		if init {
			if r := runCLI(t, nil, "x\n", "--root", ro, "write", "x"); r.code != 0 {
				t.Fatal(r.stderr)
			}
		}
		if out, err := exec.Command("mount", "-o", "remount,ro", ro).CombinedOutput(); err != nil {
			t.Fatalf("remount ro: %v: %s", err, out)
		}
		before := treeOf(t, ro)
		r := runCLI(t, nil, "", "--root", ro, "bench")
		if r.code == 0 || !strings.Contains(r.stderr, "read-only file system") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("read-only root (initialised %v): exit %d, stderr %q; want one line naming EROFS", init, r.code, r.stderr)
		}
		if d := newEntries(before, treeOf(t, ro)); len(d) > 0 {
			t.Errorf("changed %q", d)
		}
	}
}

// TestBenchFigures: --json is one valid JSON object with the fields, and
// the ratios agree with the figures; Redis mode counts ≈ 2 round trips per
// uncontended write; the text report agrees with its own printed figures.
func TestBenchFigures(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			before := treeOf(t, v.root)
			r := v.run(t, "", "bench", "--json", "--ops", "60", "--size", "1000")
			if r.code != 0 {
				t.Fatalf("bench --json: exit %d: %s", r.code, r.stderr)
			}
			noNewEntries(t, v.root, before)
			rep := parseBenchJSON(t, r.stdout)
			if rep.Mode != m.name || rep.Size != 1000 || len(rep.Cases) != 4 {
				t.Fatalf("report %+v", rep)
			}
			if abs, _ := filepath.Abs(v.root); rep.Root != abs {
				t.Errorf("root %q; want %q", rep.Root, abs)
			}
			bare, coord, cont, dist := rep.Cases[0], rep.Cases[1], rep.Cases[2], rep.Cases[3]
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("%s = %v; the figures give %v", what, got, want)
				}
			}
			near("coordinated_over_bare_p50", rep.CoordOnBare, float64(coord.P50)/float64(bare.P50))
			near("overhead_p50_ns", float64(rep.OverheadNs), float64(coord.P50-bare.P50))
			near("contended_over_serial_limit", rep.Contended, cont.OpsPerS/coord.OpsPerS)
			near("distinct_keys_over_single_writer", rep.Scaling, dist.OpsPerS/coord.OpsPerS)
			for _, c := range rep.Cases {
				if c.P50 <= 0 || c.P99 < c.P50 || c.OpsPerS <= 0 {
					t.Errorf("case %+v", c)
				}
			}
			if m.redis == "" {
				if rep.Ping != nil || rep.RTTPerWrite != 0 {
					t.Errorf("local mode reports Redis figures: %+v", rep)
				}
				return
			}
			if rep.Ping == nil {
				t.Fatal("no redis_ping")
			}
			near("overhead_in_rtt", rep.OverheadRTT, float64(coord.P50-bare.P50)/float64(rep.Ping.P50))
			if rep.RTTPerWrite < 1.9 || rep.RTTPerWrite > 2.1 {
				t.Errorf("round trips per write %v; want ≈ 2.0 uncontended", rep.RTTPerWrite)
			}

			// The text report.
			r = v.run(t, "", "bench", "--ops", "60")
			if r.code != 0 {
				t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
			}
			p50 := map[string]time.Duration{}
			for _, line := range strings.Split(r.stdout, "\n") {
				f := strings.Fields(line)
				if len(f) >= 5 {
					if d, err := time.ParseDuration(f[len(f)-2]); err == nil {
						p50[strings.Join(f[:len(f)-4], " ")] = d
					}
				}
			}
			b, c, pg := p50["bare atomic write"], p50["coordinated write"], p50["redis PING"]
			if b == 0 || c == 0 || pg == 0 {
				t.Fatalf("could not read the p50s from\n%s", r.stdout)
			}
			ratio := regexp.MustCompile(`coordinated / bare \(p50\): ([0-9.]+)`).FindStringSubmatch(r.stdout)
			ov := regexp.MustCompile(`overhead \(p50\): (\S+) = ([0-9.]+) x PING p50 \((\S+)\); ([0-9.]+) Redis round trips`).FindStringSubmatch(r.stdout)
			if ratio == nil || ov == nil {
				t.Fatalf("report lines missing:\n%s", r.stdout)
			}
			got, _ := strconv.ParseFloat(ratio[1], 64)
			if want := float64(c) / float64(b); math.Abs(got-want) > 0.02*want+0.01 {
				t.Errorf("printed ratio %v; printed p50s give %.3f\n%s", got, want, r.stdout)
			}
			od, _ := time.ParseDuration(ov[1])
			if diff := (c - b) - od; diff < -20*time.Microsecond || diff > 20*time.Microsecond {
				t.Errorf("printed overhead %v; printed p50s give %v\n%s", od, c-b, r.stdout)
			}
			if ov[3] != pg.String() && ov[3] != strings.Fields(regexp.MustCompile(`redis PING.*`).FindString(r.stdout))[4] {
				t.Errorf("PING p50 %q in the overhead line differs from the table's\n%s", ov[3], r.stdout)
			}
			if rt, _ := strconv.ParseFloat(ov[4], 64); rt < 1.9 || rt > 2.1 {
				t.Errorf("round trips per write %v; want ≈ 2.0\n%s", rt, r.stdout)
			}
		})
	}
}

// More workers than operations, a single operation, an empty payload and a
// 16 MiB one all run and clean up.
func TestBenchWorkersAndSizes(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, args := range [][]string{
		{"--ops", "3", "--workers", "10"}, {"--ops", "1", "--workers", "1"}, {"--ops", "5", "--size", "0"},
		{"--ops", "2", "--size", "16777216"},
	} {
		r := v.run(t, "", append([]string{"bench", "--json"}, args...)...)
		if r.code != 0 {
			t.Errorf("bench %q: exit %d: %s", args, r.code, r.stderr)
			continue
		}
		parseBenchJSON(t, r.stdout)
	}
	if d := benchDirs(t, v.root); len(d) > 0 {
		t.Errorf("left %q", d)
	}
}

// Three benches at once on one root all succeed and leave nothing behind.
func TestBenchConcurrent(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			before := treeOf(t, v.root)
			var ss []*started
			for range 3 {
				ss = append(ss, v.start(t, "bench", "--ops", "100", "--json"))
			}
			for _, s := range ss {
				if code := s.wait(t, 2*time.Minute); code != 0 {
					t.Errorf("bench: exit %d: %s", code, s.errb.String())
				} else {
					parseBenchJSON(t, s.out.String())
				}
			}
			noNewEntries(t, v.root, before)
		})
	}
}

// SIGINT and SIGTERM stop a bench with 128+signal and leave nothing behind,
// on the volume or in Redis.
func TestBenchSignals(t *testing.T) {
	for _, m := range modes(t) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(m.name+"/"+sig.String(), func(t *testing.T) {
				v := newVolume(t, m)
				before := treeOf(t, v.root)
				s := v.start(t, "bench", "--ops", "100000")
				waitFor(t, s, func() bool { return len(benchDirs(t, v.root)) > 0 }, "the bench directory")
				time.Sleep(700 * time.Millisecond)
				s.cmd.Process.Signal(sig)
				if code := s.wait(t, 20*time.Second); code != 128+int(sig) {
					t.Errorf("exit %d; want %d; stderr %s", code, 128+int(sig), s.errb.String())
				}
				noNewEntries(t, v.root, before)
				if m.redis != "" {
					if keys := redisKeysOf(t, volumeIDOf(t, v.root)); len(keys) > 0 {
						t.Errorf("bench left Redis keys after %v: %q", sig, keys)
					}
				}
			})
		}
	}
}

// A full stdout, a pipe no one reads and a closed stdout end a bench as they
// end other commands.
func TestBenchStdout(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, js := range []bool{false, true} {
		args := v.args("bench", "--ops", "3")
		if js {
			args = append(args, "--json")
		}
		// A full stdout.
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skip(err)
		}
		cmd := exec.Command(swBin, args...)
		cmd.Env, cmd.Stdout = baseEnv(), full
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err = cmd.Run()
		full.Close()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "write to stdout") {
			t.Errorf("json=%v /dev/full: %v, stderr %q; want exit 1 naming the write to stdout", js, err, errb.String())
		}
		// A pipe nobody reads: exit 1 with a message, not killed by SIGPIPE.
		pr, pw, _ := os.Pipe()
		pr.Close()
		cmd = exec.Command(swBin, args...)
		cmd.Env, cmd.Stdout = baseEnv(), pw
		errb.Reset()
		cmd.Stderr = &errb
		err = cmd.Run()
		pw.Close()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "broken pipe") {
			t.Errorf("json=%v closed pipe: %v, stderr %q; want exit 1 naming EPIPE", js, err, errb.String())
		}
		// A closed stdout: as `version` does.
		code := func(a ...string) int {
			c := exec.Command("sh", append([]string{"-c", `exec "$0" "$@" >&-`, swBin}, a...)...)
			c.Env = baseEnv()
			err := c.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			return 0
		}
		if b, ver := code(args...), code("version"); b != ver {
			t.Errorf("json=%v closed stdout: bench exit %d, version exit %d", js, b, ver)
		}
	}
	if d := benchDirs(t, v.root); len(d) > 0 {
		t.Errorf("left %q", d)
	}
}

// Redis unreachable from the start, or killed mid-run: exit 6 within
// --timeout (plus slack), the password never printed, nothing left behind.
func TestBenchRedisAway(t *testing.T) {
	needRedis(t)
	t.Run("unreachable", func(t *testing.T) {
		v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
		port, _ := testrig.FreePort()
		url := fmt.Sprintf("redis://user:S3cretPw@127.0.0.1:%d", port)
		r := runCLI(t, nil, "", "--root", v.root, "--redis", url, "--timeout", "2s", "bench")
		if r.code != 6 || r.took > 6*time.Second {
			t.Errorf("exit %d after %v; want 6 within the timeout: %s", r.code, r.took, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "S3cretPw") {
			t.Errorf("password printed: %q %q", r.stdout, r.stderr)
		}
		if d := benchDirs(t, v.root); len(d) > 0 {
			t.Errorf("left %q", d)
		}
	})
	t.Run("killed", func(t *testing.T) {
		rs := testrig.StartRedis(t, "--requirepass", "S3cretPw")
		url := fmt.Sprintf("redis://:S3cretPw@%s", rs.Addr())
		v := newVolume(t, mode{name: "redis", redis: url})
		s := v.start(t, "--timeout", "3s", "bench", "--ops", "1000000")
		waitFor(t, s, func() bool { return len(benchDirs(t, v.root)) > 0 }, "the bench directory")
		time.Sleep(500 * time.Millisecond)
		gone := time.Now()
		rs.Kill()
		code := s.wait(t, time.Minute)
		if took := time.Since(gone); code != 6 || took > 8*time.Second {
			t.Errorf("exit %d after %v; want 6 within --timeout 3s (+ slack): %s", code, took, s.errb.String())
		}
		if strings.Contains(s.out.String()+s.errb.String(), "S3cretPw") {
			t.Errorf("password printed")
		}
		if d := benchDirs(t, v.root); len(d) > 0 {
			t.Errorf("left %q", d)
		}
	})
}
