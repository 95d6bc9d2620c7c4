//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFromNamedPipeEndsAtTimeoutAndSignal: `write NAME --from FILE` and
// `init NAME --from FILE`, where FILE is a named pipe that no writer opens
// (the open blocks) or that a writer holds open without writing (the read
// blocks), end when --timeout passes (exit 3) or SIGTERM arrives (exit 143),
// as a blocked stdin (--from -) does, and commit nothing. init blocks there
// while it holds NAME's lease.
func TestFromNamedPipeEndsAtTimeoutAndSignal(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		writer bool // a writer holds the pipe open without writing
	}{
		{"write/no-writer", []string{"write", "f"}, false},
		{"write/silent-writer", []string{"write", "f"}, true},
		{"init/no-writer", []string{"init", "f"}, false},
		{"init/silent-writer", []string{"init", "f"}, true},
	}
	for _, tc := range cases {
		for _, end := range []string{"timeout", "sigterm"} {
			t.Run(tc.name+"/"+end, func(t *testing.T) {
				v := newVolume(t, mode{name: "local"})
				fifo := newFIFO(t)
				if tc.writer {
					// Read-write, so that this open does not block: a
					// writer that never writes.
					w, err := os.OpenFile(fifo, os.O_RDWR, 0)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { w.Close() })
				}
				args := append(append([]string{}, tc.args...), "--from", fifo)
				if end == "timeout" {
					s := v.start(t, append([]string{"--timeout", "1s"}, args...)...)
					if code := s.wait(t, 10*time.Second); code != 3 {
						t.Errorf("--timeout 1s: exit %d; want 3; stderr: %s", code, s.errb.String())
					}
					if !strings.Contains(s.errb.String(), "--timeout 1s passed") {
						t.Errorf("stderr %q; want it to name the timeout", s.errb.String())
					}
				} else {
					s := v.start(t, append([]string{"--timeout", "0"}, args...)...)
					// Give it time to block on the pipe (a signal before
					// that ends the run just the same).
					time.Sleep(time.Second)
					s.cmd.Process.Signal(syscall.SIGTERM)
					if code := s.wait(t, 10*time.Second); code != 128+int(syscall.SIGTERM) {
						t.Errorf("SIGTERM: exit %d; want %d; stderr: %s", code, 128+int(syscall.SIGTERM), s.errb.String())
					}
				}
				checkNothingWritten(t, v.root)
			})
		}
	}
}

// TestFromNamedPipeWaitsForItsWriter: `write NAME --from FILE` on a named
// pipe whose writer comes later waits for it and writes what it sent, not an
// empty file.
func TestFromNamedPipeWaitsForItsWriter(t *testing.T) {
	for _, cmd := range []string{"write", "init"} {
		t.Run(cmd, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			fifo := newFIFO(t)
			s := v.start(t, "--timeout", "30s", cmd, "f", "--from", fifo)
			time.Sleep(500 * time.Millisecond)
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // a writer that opens, then writes
			if _, err := w.WriteString("from the pipe\n"); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if code := s.wait(t, 20*time.Second); code != 0 {
				t.Fatalf("exit %d; want 0; stderr: %s", code, s.errb.String())
			}
			b, err := os.ReadFile(filepath.Join(v.root, "f"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "from the pipe\n"; got != want {
				t.Errorf("f: got %q; want %q", got, want)
			}
		})
	}
}

func newFIFO(t *testing.T) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return fifo
}
