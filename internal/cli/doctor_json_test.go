package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

// Every key of doctor --json is snake_case: redis_rtt's and peer's fields
// were printed under their Go names (P50, Max, Me, PeerHost, SameHost, ...).
func TestDoctorReportJSONKeysAreSnakeCase(t *testing.T) {
	rep := doctorReport{
		Root:     "/v",
		Mode:     "redis",
		FS:       fsInfo{Type: "ext4", Options: []string{"rw"}},
		Probe:    fsProbe{ProbeErrors: []string{"x"}},
		Peer:     &peerResult{Me: "a", Peer: "b", PeerHost: "h", SameHost: true, Propagates: true},
		RedisRTT: &rttStats{P50: time.Millisecond, Max: 2 * time.Millisecond},
		Warnings: []string{"w"},
		Problems: []string{"p"},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !snake.MatchString(k) {
					t.Errorf("key %q at %s is not snake_case", k, path)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		}
	}
	walk("report", v)
	for _, want := range []string{`"p50_ns":1000000`, `"max_ns":2000000`, `"peer_host":"h"`, `"same_host":true`, `"propagates":true`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("doctor --json lacks %s: %s", want, b)
		}
	}
}
