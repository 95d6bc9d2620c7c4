package main

import (
	"strings"
	"testing"
)

// TestTelemetryExport: the SDK is configured from OTEL_* variables (here the
// console exporter, which prints spans on stdout), and exports nothing when
// they are unset.
func TestTelemetryExport(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	r := runCLI(t, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_METRICS_EXPORTER=none", "OTEL_SERVICE_NAME=sw-test"},
		"x\n", v.args("write", "traced.txt")...)
	if r.code != 0 {
		t.Fatalf("write with console exporter: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`"Name":"write"`, "traced.txt", "sw-test"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("console spans lack %q:\n%s", want, r.stdout)
		}
	}
	r = v.run(t, "y\n", "write", "untraced.txt")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("write without OTEL_*: exit %d, stdout %q; want 0 and nothing exported", r.code, r.stdout)
	}
}
