package main

import (
	"strings"
	"testing"
)

// TestTelemetryExport: the SDK is configured from OTEL_* variables (here the
// console exporter, which the CLI prints on stderr), and exports nothing when
// they are unset. stdout stays the command's output alone: read prints the
// file and nothing else.
func TestTelemetryExport(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	console := []string{"OTEL_TRACES_EXPORTER=console", "OTEL_METRICS_EXPORTER=console", "OTEL_SERVICE_NAME=sw-test"}
	r := runCLI(t, console, "x\n", v.args("write", "traced.txt")...)
	if r.code != 0 {
		t.Fatalf("write with console exporter: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`"Name":"write"`, "traced.txt", "sw-test", "sharedwrite.operation.duration"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("console spans and metrics on stderr lack %q:\n%s", want, r.stderr)
		}
	}
	r = runCLI(t, console, "", v.args("read", "traced.txt")...)
	if r.code != 0 || r.stdout != "x\n" || !strings.Contains(r.stderr, `"Name":"read"`) {
		t.Errorf("read with console exporter: exit %d, stdout %q, stderr %s; want 0, the file alone, its span on stderr", r.code, r.stdout, r.stderr)
	}
	r = v.run(t, "y\n", "write", "untraced.txt")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("write without OTEL_*: exit %d, stdout %q; want 0 and nothing exported", r.code, r.stdout)
	}
}
