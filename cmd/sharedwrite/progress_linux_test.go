//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the master and the slave of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestProgressOnTerminal: a wait for a busy lease shows progress on stderr when
// stderr is a terminal, and nothing extra when it is not.
func TestProgressOnTerminal(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	mark := filepath.Join(t.TempDir(), "holding")
	v.start(t, "lock", "k", "--", "sh", "-c", `touch "$0"; sleep 60`, mark)
	waitForFile(t, mark, 30*time.Second)

	master, slave := openPTY(t)
	cmd := exec.Command(swBin, v.args("--timeout", "3500ms", "write", "k", "--from", "/dev/null")...)
	cmd.Env = baseEnv()
	cmd.Stderr = slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tty bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&tty, master); close(copied) }()
	err := cmd.Wait()
	slave.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("write on a held key: %v; want exit 3", err)
	}
	// The master returns EIO once no slave is open; give the copy a moment.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		master.Close()
		<-copied
	}
	if got := tty.String(); !strings.Contains(got, `write "k"... 1s`) || !strings.Contains(got, `write "k"... 2s`) {
		t.Errorf("terminal stderr %q; want progress lines `write \"k\"... 1s` and 2s", got)
	}

	r := v.run(t, "", "--timeout", "1500ms", "write", "k")
	if r.code != 3 || strings.Contains(r.stderr, "...") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("not a terminal: exit %d, stderr %q; want 3 and one error line without progress", r.code, r.stderr)
	}
}
