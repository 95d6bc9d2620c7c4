//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// waitOrKill waits up to d for s; ok is false when it is still running, and
// then it is SIGTERMed, given 3 s, and SIGKILLed (hung reports whether even
// SIGTERM did not end it).
func waitOrKill(t *testing.T, s *started, d time.Duration) (code int, ok, hungAfterTerm bool) {
	t.Helper()
	select {
	case <-s.done:
		return s.code, true, false
	case <-time.After(d):
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.code, false, false
	case <-time.After(3 * time.Second):
	}
	testrig.KillGroup(s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	return -1, false, true
}

// TestFIFORefused: append, rotate --copytruncate and rotate of a name that
// is a FIFO are refused as not a regular file (exit 5), as for a directory,
// at once. (append opened the FIFO O_WRONLY and rotate --copytruncate for
// reading, without O_NONBLOCK, under the key's lease and lock, and blocked in
// open(2) until the other end was opened: --timeout and SIGTERM did not end
// them. A plain rotate exited 0 silently: its size is 0, so it was taken for
// an empty log.)
func TestFIFORefused(t *testing.T) {
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"line\n", []string{"append", "f"}},
		{"", []string{"rotate", "f", "--copytruncate"}},
		{"", []string{"rotate", "f"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			if err := syscall.Mkfifo(filepath.Join(v.root, "f"), 0o644); err != nil {
				t.Fatal(err)
			}
			s := v.startIn(t, c.stdin, append([]string{"--timeout", "2s"}, c.args...)...)
			code, ok, hung := waitOrKill(t, s, 10*time.Second)
			if !ok {
				t.Fatalf("%q on a FIFO still running after 10s (--timeout 2s); ended by SIGTERM: %v; stderr: %q; want exit 5 (not a regular file) at once", c.args, !hung, s.errb.String())
			}
			if code != 5 {
				t.Errorf("%q on a FIFO: exit %d, stdout %q, stderr %q; want 5 (not a regular file)", c.args, code, s.out.String(), s.errb.String())
			}
		})
	}
}

// TestWatchInitialLogTailOverLimit: an appended log whose committed
// length (8 bytes) is well within --max-read-size but whose file holds an
// unacknowledged tail past the limit (a crashed appender's, here written by
// hand). watch --initial delivers the initial version, the committed prefix.
// (It re-read the whole file, which stays over the limit until the next
// append, and so waited forever, logging "read failed; retrying".)
func TestWatchInitialLogTailOverLimit(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "one\ntwo\n", "append", "log"); r.code != 0 {
				t.Fatalf("append: exit %d: %s", r.code, r.stderr)
			}
			f, err := os.OpenFile(filepath.Join(v.root, "log"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte(strings.Repeat("x", 2000))) // an unacknowledged tail
			f.Close()
			s := v.startIn(t, "", "--max-read-size", "1000", "watch", "--initial", "--json", "log")
			deadline := time.Now().Add(8 * time.Second)
			for time.Now().Before(deadline) && s.running() && s.out.String() == "" {
				time.Sleep(20 * time.Millisecond)
			}
			if out := s.out.String(); out != "" {
				var ev struct {
					Size int64 `json:"size"`
				}
				if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &ev); err != nil || ev.Size != 8 {
					t.Errorf("watch --initial printed %q; want the committed version (size 8)", out)
				}
				return
			}
			if !s.running() {
				if s.code == 0 {
					t.Errorf("watch --initial exited 0 without delivering anything; stderr %q", s.errb.String())
				}
				return
			}
			t.Errorf("watch --initial --max-read-size 1000 on a log of committed length 8 with a 2000-byte tail: nothing delivered and still waiting after 8s; stderr: %q", s.errb.String())
		})
	}
}

// TestWatchJSONNonUTF8Name: write accepts a name that is not valid UTF-8;
// watch --json, whose "path" can only hold UTF-8 (encoding/json puts U+FFFD
// in place of a bad byte, so "bad\xffname" and "bad\xfename" print the
// same), adds "path_base64" with the name's exact bytes. (It printed only the
// lossy "path".)
func TestWatchJSONNonUTF8Name(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	name := "bad\xffname"
	if r := v.run(t, "x\n", "write", name); r.code != 0 {
		t.Fatalf("write %q: exit %d: %s", name, r.code, r.stderr)
	}
	s := v.startIn(t, "", "watch", "--initial", "--json", name)
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) && s.running() && !strings.Contains(s.out.String(), "\n") {
		time.Sleep(20 * time.Millisecond)
	}
	out := s.out.String()
	if !strings.Contains(out, "\n") {
		if s.running() {
			t.Fatalf("watch --initial --json printed nothing in 8s; stderr %q", s.errb.String())
		}
		if s.code != 0 {
			return // refused: acceptable
		}
		t.Fatalf("watch exited 0 and printed nothing; stderr %q", s.errb.String())
	}
	line, _ := bufio.NewReader(strings.NewReader(out)).ReadString('\n')
	var ev struct {
		Path   string `json:"path"`
		Path64 []byte `json:"path_base64"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("watch --json line %q: %v", line, err)
	}
	if string(ev.Path64) != name || ev.Path != strings.ToValidUTF8(name, "\uFFFD") {
		t.Errorf("watch --json on %q: path %q, path_base64 %q (line %q); want the name's exact bytes in path_base64", name, ev.Path, ev.Path64, strings.TrimSpace(line))
	}
}

// TestWatchDirectory: watch NAME on a directory is refused (exit 5, not a
// regular file), with or without --initial. (Without it, it waited silently
// forever.)
func TestWatchDirectory(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if err := os.Mkdir(filepath.Join(v.root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := v.run(t, "", "--timeout", "5s", "watch", "--initial", "d"); r.code != 5 {
		t.Fatalf("watch --initial on a directory: exit %d, stderr %q; want 5", r.code, r.stderr)
	}
	s := v.startIn(t, "", "watch", "d")
	code, ok, _ := waitOrKill(t, s, 5*time.Second)
	if !ok {
		t.Fatalf("watch on a directory: still running after 5s with no message (stderr %q); want exit 5 (not a regular file), as with --initial", s.errb.String())
	}
	if code != 5 {
		t.Errorf("watch on a directory: exit %d, stderr %q; want 5", code, s.errb.String())
	}
}

// TestUpdateOutputOverReadLimit: an update whose CMD prints more than
// --max-read-size, the limit of what update holds in memory, is refused
// (exit 8) and commits nothing. (It committed it, leaving a file that every
// later update, read and watch refused with exit 1.)
func TestUpdateOutputOverReadLimit(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	r := v.run(t, "", "--max-read-size", "100", "update", "n", "--", "sh", "-c", "head -c 1000 /dev/zero")
	fi, err := os.Stat(filepath.Join(v.root, "n"))
	if r.code != 8 || err == nil {
		size := int64(-1)
		if err == nil {
			size = fi.Size()
		}
		again := v.run(t, "", "--max-read-size", "100", "update", "n", "--", "cat")
		t.Errorf("update --max-read-size 100 whose CMD prints 1000 bytes: exit %d, file size %d; the next update with the same limit: exit %d (%s); want the output over the limit refused, nothing committed",
			r.code, size, again.code, strings.TrimSpace(again.stderr))
	}
	// CMD exited 0: the message names the limit and no exit status.
	if !strings.Contains(r.stderr, "--max-read-size") || strings.Contains(r.stderr, "status") {
		t.Errorf("update refused for its output: stderr %q; want the limit named and no exit status", r.stderr)
	}
}
