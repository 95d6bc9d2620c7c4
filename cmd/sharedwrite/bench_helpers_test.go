package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers of the bench tests.

// benchCaseJSON is one case of bench --json.
type benchCaseJSON struct {
	Name    string  `json:"name"`
	Ops     int     `json:"ops"`
	Workers int     `json:"workers"`
	OpsPerS float64 `json:"ops_per_s"`
	P50     int64   `json:"p50_ns"`
	P99     int64   `json:"p99_ns"`
}

// benchJSON mirrors bench --json.
type benchJSON struct {
	Root        string          `json:"root"`
	Mode        string          `json:"mode"`
	Size        int             `json:"payload_bytes"`
	Cases       []benchCaseJSON `json:"cases"`
	Ping        *benchCaseJSON  `json:"redis_ping"`
	CoordOnBare float64         `json:"coordinated_over_bare_p50"`
	OverheadNs  int64           `json:"overhead_p50_ns"`
	OverheadRTT float64         `json:"overhead_in_rtt"`
	RTTPerWrite float64         `json:"redis_round_trips_per_write"`
	Contended   float64         `json:"contended_over_serial_limit"`
	Scaling     float64         `json:"distinct_keys_over_single_writer"`
}

func parseBenchJSON(t *testing.T, out string) benchJSON {
	t.Helper()
	var rep benchJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bench --json output is not the expected JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("bench --json: more than one JSON value:\n%s", out)
	}
	return rep
}

// benchDirs lists the sharedwrite-bench-* entries in root.
func benchDirs(t *testing.T, root string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, "sharedwrite-bench-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// treeOf lists every path under root (relative), sorted.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// volumeIDOf reads the volume id.
func volumeIDOf(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".sharedwrite", "volume-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// redisKeysOf lists the Redis keys of the volume on the package's server.
func redisKeysOf(t *testing.T, id string) []string {
	t.Helper()
	c := redisSrv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := c.Keys(ctx, "sw:{"+id+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func newEntries(before, after []string) []string {
	seen := map[string]bool{}
	for _, b := range before {
		seen[b] = true
	}
	var out []string
	for _, a := range after {
		if !seen[a] {
			out = append(out, a)
		}
	}
	return out
}

// waitFor waits (30 s at most) until cond holds while the process s runs.
func waitFor(t *testing.T, s *started, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || !s.running() {
			t.Fatalf("no sign of %s; stderr %s", what, s.errb.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runLimited runs the CLI with args under a descriptor limit of n (ulimit -n)
// and returns its exit code and stderr.
func runLimited(t *testing.T, n int, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", `ulimit -n ` + strconv.Itoa(n) + ` && exec "$0" "$@"`, swBin}, args...)...)
	cmd.Env = baseEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var errb strings.Builder
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, errb.String()
}
