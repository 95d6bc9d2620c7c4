package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI's write, traced with the console exporter: the exported spans hold
// the documented steps (commit among them) under the operation's span, and
// the operation histogram is exported.
func TestCLIWriteTrace(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	r := runCLI(t, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_METRICS_EXPORTER=console"},
		"x\n", v.args("write", "traced.txt")...)
	if r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.stderr))
	names := map[string]bool{}
	for dec.More() {
		var s map[string]any
		if err := dec.Decode(&s); err != nil {
			break
		}
		if n, ok := s["Name"].(string); ok {
			names[n] = true
		}
	}
	for _, want := range []string{"sharedwrite.create", "lease", "flock", "floor", "write", "fsync", "commit", "rename", "release"} {
		if !names[want] {
			t.Errorf("no exported span %q; spans: %v", want, names)
		}
	}
	if !strings.Contains(r.stderr, "sharedwrite.operation.duration") {
		t.Errorf("operation histogram not exported:\n%s", r.stderr)
	}
}

// A warning logged inside an operation (an outside edit adopted by update)
// carries the trace_id and span_id of the exported trace.
func TestCLILogTraceID(t *testing.T) {
	v := editedOutside(t)
	r := runCLI(t, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_METRICS_EXPORTER=none"}, "",
		v.args("--log-format", "json", "update", "f", "--", "cat")...)
	if r.code != 0 {
		t.Fatalf("update: exit %d: %s", r.code, r.stderr)
	}
	rec := outsideEditWarning(t, r.stderr)
	tid, _ := rec["trace_id"].(string)
	if len(tid) != 32 || !strings.Contains(r.stderr, `"TraceID":"`+tid+`"`) {
		t.Errorf("warning trace_id %q; want the exported trace's id\nstderr %s\nstdout %s", tid, r.stderr, r.stdout)
	}
}

// Without any OTEL_* variable, nothing is exported, but a log record still
// carries the trace_id and span_id of its operation.
func TestCLILogIDsWithoutExporter(t *testing.T) {
	v := editedOutside(t)
	r := v.run(t, "", "--log-format", "json", "read", "f")
	if r.code != 0 || r.stdout != "edited outside" {
		t.Fatalf("read: exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	rec := outsideEditWarning(t, r.stderr)
	tid, _ := rec["trace_id"].(string)
	sid, _ := rec["span_id"].(string)
	if len(tid) != 32 || len(sid) != 16 || strings.Trim(tid, "0") == "" {
		t.Errorf("outside-edit warning %v; want a trace_id and a span_id\nstderr %s", rec, r.stderr)
	}
}

// editedOutside returns a local volume whose file f was written by the CLI,
// then changed outside sharedwrite: the next operation on f logs a warning.
func editedOutside(t *testing.T) volume {
	t.Helper()
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "1", "write", "f"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(v.root, "f"), []byte("edited outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	return v
}

// outsideEditWarning returns the JSON log record, in stderr, that warns of an
// outside edit.
func outsideEditWarning(t *testing.T, stderr string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if msg, _ := m["msg"].(string); strings.Contains(msg, "edited outside") {
			return m
		}
	}
	t.Fatalf("no outside-edit warning in stderr:\n%s", stderr)
	return nil
}
