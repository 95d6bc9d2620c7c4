package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Helpers of the bench tests.

// benchJSON mirrors bench --json.
type benchJSON struct {
	Root  string `json:"root"`
	Mode  string `json:"mode"`
	Size  int    `json:"payload_bytes"`
	Cases []struct {
		Name    string  `json:"name"`
		Ops     int     `json:"ops"`
		Workers int     `json:"workers"`
		OpsPerS float64 `json:"ops_per_s"`
		P50     int64   `json:"p50_ns"`
		P99     int64   `json:"p99_ns"`
	} `json:"cases"`
	Ping *struct {
		Name    string  `json:"name"`
		Ops     int     `json:"ops"`
		Workers int     `json:"workers"`
		OpsPerS float64 `json:"ops_per_s"`
		P50     int64   `json:"p50_ns"`
		P99     int64   `json:"p99_ns"`
	} `json:"redis_ping"`
	CoordOnBare float64 `json:"coordinated_over_bare_p50"`
	OverheadNs  int64   `json:"overhead_p50_ns"`
	OverheadRTT float64 `json:"overhead_in_rtt"`
	RTTPerWrite float64 `json:"redis_round_trips_per_write"`
	Contended   float64 `json:"contended_over_serial_limit"`
	Scaling     float64 `json:"distinct_keys_over_single_writer"`
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
