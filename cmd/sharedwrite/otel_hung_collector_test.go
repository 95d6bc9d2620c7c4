package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With a collector that accepts and never answers, the export at exit is
// bounded (5 s); after an interrupt it is cut short (0.5 s): Ctrl-C on a
// `lock` does not wait for the collector. The warning names the exporter.
func TestHungCollectorDoesNotHoldUpAnInterrupt(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	env := []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_METRICS_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + hungListener(t)}

	r := runCLI(t, env, "x\n", v.args("write", "f", "--from", "-")...)
	if r.code != 0 || r.took > 15*time.Second {
		t.Fatalf("write with a hung collector: exit %d after %v; want 0 within the flush bound plus a margin: %s", r.code, r.took, r.stderr)
	}
	if !strings.Contains(r.stderr, "OTEL_TRACES_EXPORTER=otlp") {
		t.Errorf("the warning does not name the exporter: %s", r.stderr)
	}

	cmd := exec.Command(swBin, v.args("lock", "f", "--", "sleep", "30")...)
	cmd.Env = append(baseEnv(), env...)
	s := startCmd(t, cmd)
	time.Sleep(time.Second)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("lock still running 30 s after SIGINT: %s", s.errb.String())
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("lock exited %v after SIGINT; want the interrupted flush (0.5 s) plus a margin: %s", took, s.errb.String())
	}
	if s.code != 130 {
		t.Fatalf("lock after SIGINT: exit %d; want 130: %s", s.code, s.errb.String())
	}
}
