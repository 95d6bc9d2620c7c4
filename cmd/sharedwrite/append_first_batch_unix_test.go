//go:build unix

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// killFirstBatch starts `append NAME` fed 100 MiB in one line and SIGKILLs it
// as soon as the file shows its first bytes: in the middle of its first (and
// only) batch's pwrite, before its commit point.
func killFirstBatch(t *testing.T, v volume, name string) {
	t.Helper()
	cmd := exec.Command(swBin, v.args("--lease-ttl", "3s", "append", name)...)
	cmd.Env = baseEnv()
	var errb testrig.SyncBuffer
	cmd.Stderr = &errb
	testrig.OwnGroup(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	testrig.KillGroupOnCleanup(t, cmd, done)
	go func() {
		defer in.Close()
		chunk := []byte(strings.Repeat("A", 1<<20))
		for range 100 {
			if _, err := in.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(in, "\n")
	}()
	path := filepath.Join(v.root, name)
	deadline := time.Now().Add(time.Minute)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) || !isOpen(done) {
			t.Fatalf("the appender wrote nothing: %s", errb.String())
		}
		time.Sleep(100 * time.Microsecond)
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// TestAppendKilledFirstBatchTorn: an `append` killed in the middle of the
// first batch of a new log leaves a partial, unacknowledged record; the next
// append cuts it. The log had no committed length to cut back to, and the
// next record was glued onto the torn one.
func TestAppendKilledFirstBatchTorn(t *testing.T) {
	big := strings.Repeat("A", 100<<20) + "\n"
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			killFirstBatch(t, v, "app.log")
			if r := v.run(t, "after\n", "--lease-ttl", "3s", "append", "app.log"); r.code != 0 {
				t.Fatalf("append after the kill: exit %d: %s", r.code, r.stderr)
			}
			b, err := os.ReadFile(filepath.Join(v.root, "app.log"))
			if err != nil {
				t.Fatal(err)
			}
			if s := string(b); s != "after\n" && s != big+"after\n" {
				t.Errorf("log is %d bytes ending %q: a torn record; want \"after\\n\"", len(s), s[max(0, len(s)-12):])
			}
		})
	}
}

// TestRotatedFilesKeepLogMode: a 0640 log rotated by a replica running with
// umask 077. The --copytruncate copy and the --gzip file, created anew, have
// the log's mode, as a plain rotation's file (the log's own inode) has; they
// were 0600, no longer readable by the log's group.
func TestRotatedFilesKeepLogMode(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	v := newVolume(t, mode{name: "local"})
	live := filepath.Join(v.root, "app.log")
	for _, args := range [][]string{{"--copytruncate"}, {"--gzip"}} {
		if err := os.WriteFile(live, []byte("line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(live, 0o640); err != nil {
			t.Fatal(err)
		}
		r := v.run(t, "", append([]string{"rotate", "app.log"}, args...)...)
		name := strings.Trim(strings.TrimSpace(r.stdout), `"`)
		if r.code != 0 || name == "" {
			t.Fatalf("rotate %v: exit %d, %q: %s", args, r.code, r.stdout, r.stderr)
		}
		fi, err := os.Stat(filepath.Join(v.root, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o640 {
			t.Errorf("rotate %v: rotated file %s has mode %#o; want the log's 0640", args, name, got)
		}
	}
}
