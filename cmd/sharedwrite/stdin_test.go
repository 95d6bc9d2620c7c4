package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// startStdin starts the CLI on the volume with a stdin pipe that stays open
// (and unwritten beyond partial) until the test ends: a read of it blocks
// with no data and no EOF.
func (v volume) startStdin(t *testing.T, partial string, args ...string) *started {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close() })
	if _, err := pw.WriteString(partial); err != nil {
		t.Fatal(err)
	}
	s := &started{done: make(chan struct{})}
	s.cmd = exec.Command(swBin, v.args(args...)...)
	s.cmd.Env = baseEnv()
	s.cmd.Stdin = pr
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.errb
	testrig.OwnGroup(s.cmd)
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sharedwrite: %v", err)
	}
	pr.Close() // the child holds its own copy
	go func() {
		s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	testrig.KillGroupOnCleanup(t, s.cmd, s.done)
	return s
}

// TestStdinBlockedCancel: `write NAME --from -` and `init NAME --from -`
// reading a stdin that never delivers more data nor EOF still end when
// --timeout passes (exit 3) or SIGTERM arrives (exit 143), and commit nothing.
func TestStdinBlockedCancel(t *testing.T) {
	cmds := []struct {
		name string
		args []string
	}{
		{"write", []string{"write", "f", "--from", "-"}},
		{"init", []string{"init", "f", "--from", "-"}},
	}
	for _, c := range cmds {
		t.Run(c.name+"/timeout", func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			s := v.startStdin(t, "partial\n", append([]string{"--timeout", "1s"}, c.args...)...)
			if code := s.wait(t, 10*time.Second); code != 3 {
				t.Errorf("exit %d; want 3; stderr %s", code, s.errb.String())
			}
			if !strings.Contains(s.errb.String(), "timeout") {
				t.Errorf("stderr %q; want it to name the timeout", s.errb.String())
			}
			checkNothingWritten(t, v.root)
		})
		t.Run(c.name+"/sigterm", func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			s := v.startStdin(t, "partial\n", c.args...)
			// Give it time to reach the read of stdin (a signal before it
			// ends the run just the same).
			time.Sleep(time.Second)
			s.cmd.Process.Signal(syscall.SIGTERM)
			if code := s.wait(t, 10*time.Second); code != 128+int(syscall.SIGTERM) {
				t.Errorf("exit %d; want %d; stderr %s", code, 128+int(syscall.SIGTERM), s.errb.String())
			}
			checkNothingWritten(t, v.root)
		})
	}
}

func checkNothingWritten(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "f")); !os.IsNotExist(err) {
		t.Errorf("f: stat error %v; want it absent (nothing committed)", err)
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Errorf("temps left behind: %q", l)
	}
}

// TestAppendInterruptedCounts: SIGTERM to `append` whose stdin stays open
// ends it with 143, and the count it reports equals the lines in the file.
func TestAppendInterruptedCounts(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	s := v.startStdin(t, in.String(), "append", "app.log", "--max-delay", "1ms")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := os.ReadFile(filepath.Join(v.root, "app.log")); string(b) == in.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app.log did not get the 20 lines within 30s; stderr %s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 10*time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d; want %d; stderr %s", code, 128+int(syscall.SIGTERM), s.errb.String())
	}
	if !strings.Contains(s.errb.String(), "20 lines committed") {
		t.Errorf("stderr %q; want it to report 20 lines committed", s.errb.String())
	}
}
