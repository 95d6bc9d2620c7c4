package main

import (
	"strings"
	"testing"
)

// TestDoctorTimeoutZeroIsNoLimit: --timeout 0 means no limit, for doctor's
// Redis probe too: against a live Redis, doctor --timeout 0 measures the
// round trip and exits 0, as with the default --timeout, instead of
// reporting Redis unreachable (exit 6) on an already expired deadline.
func TestDoctorTimeoutZeroIsNoLimit(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	if r := v.run(t, "", "doctor"); r.code != 0 {
		t.Fatalf("doctor with the default --timeout: exit %d; want 0; stderr: %s", r.code, r.stderr)
	}
	r := v.run(t, "", "--timeout", "0", "doctor")
	if r.code != 0 || strings.Contains(r.stdout, "UNREACHABLE") || !strings.Contains(r.stdout, "round trip") {
		t.Errorf("doctor --timeout 0 against a live Redis: exit %d; want 0 with the round trip measured (0 = no limit); stdout: %s; stderr: %s",
			r.code, r.stdout, r.stderr)
	}
}
