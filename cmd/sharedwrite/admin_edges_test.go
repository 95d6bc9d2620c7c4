package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --max-read-size accepts any non-negative int64, the largest too (it made
// read panic: limit+1 overflowed in the buffer size).
func TestMaxReadSizeLargest(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "hello\n", "write", "f", "--from", "-"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			max := strconv.FormatInt(1<<63-1, 10)
			r := v.run(t, "", "--max-read-size", max, "read", "f")
			if r.code != 0 || r.stdout != "hello\n" || strings.Contains(r.stderr, "panic") {
				t.Fatalf("--max-read-size %s read f: exit %d, stdout %q, stderr:\n%s", max, r.code, r.stdout, firstLines(r.stderr, 4))
			}
		})
	}
}

// A --lease-ttl below the lease's minimum (10ms) is a usage error (exit 2),
// in both modes (it passed the flag check, then every operation in Redis
// mode failed with exit 1).
func TestLeaseTTLBelowMinimumIsUsage(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			r := v.run(t, "x", "--lease-ttl", "5ms", "write", "f", "--from", "-")
			if r.code != 2 || !strings.Contains(r.stderr, "--lease-ttl") {
				t.Errorf("--lease-ttl 5ms write: exit %d, want 2 (usage) naming the flag; stderr: %s", r.code, r.stderr)
			}
			if r := v.run(t, "x", "--lease-ttl", "1s", "write", "f", "--from", "-"); r.code != 0 {
				t.Errorf("--lease-ttl 1s write: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}

// doctor leaves the volume as found: its clean-up removes directories only,
// not a file or a symlink at .sharedwrite (it removed whatever was there).
func TestDoctorKeepsWhatItDidNotMake(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		root := t.TempDir()
		p := filepath.Join(root, ".sharedwrite")
		if err := os.WriteFile(p, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "", "--root", root, "doctor")
		if _, err := os.Lstat(p); err != nil {
			t.Fatalf("doctor (exit %d) removed the file .sharedwrite it did not make: %v", r.code, err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		root, other := t.TempDir(), t.TempDir()
		p := filepath.Join(root, ".sharedwrite")
		if err := os.Symlink(other, p); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "", "--root", root, "doctor")
		if _, err := os.Lstat(p); err != nil {
			t.Fatalf("doctor (exit %d) removed the symlink .sharedwrite it did not make: %v", r.code, err)
		}
	})
}

// doctor --peer interrupted by SIGINT says it was interrupted (it said "no
// peer came within 1m0s", which did not happen).
func TestDoctorPeerInterruptedMessage(t *testing.T) {
	v := volume{mode: mode{name: "local"}, root: t.TempDir()}
	s := v.start(t, "doctor", "--peer", "--peer-wait", "1m")
	peer := filepath.Join(v.root, ".sharedwrite", "doctor", "peer")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(peer)
		if len(ents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor --peer wrote no hello within 10s; stderr: %s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd.Process.Signal(os.Interrupt)
	code := s.wait(t, 10*time.Second)
	out := s.out.String() + s.errb.String()
	if code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if strings.Contains(out, "no peer came within") || !strings.Contains(out, "interrupted") {
		t.Errorf("interrupted doctor --peer says no peer came within the wait:\n%s", out)
	}
}

// doctor finds a Redis-mode volume whose volume-id is missing or malformed
// unusable (exit 5), as every operation on it is (it said "verdict ok").
func TestDoctorBrokenVolumeID(t *testing.T) {
	needRedis(t)
	for _, c := range []struct {
		name string
		fix  func(p string) error
	}{
		{"missing", os.Remove},
		{"malformed", func(p string) error { return os.WriteFile(p, []byte("bad\n"), 0o644) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
			if err := c.fix(filepath.Join(v.root, ".sharedwrite", "volume-id")); err != nil {
				t.Fatal(err)
			}
			w := v.run(t, "x", "write", "f", "--from", "-")
			if w.code != 5 {
				t.Fatalf("write: exit %d, want 5; %s", w.code, w.stderr)
			}
			d := v.run(t, "", "doctor")
			if d.code != 5 {
				t.Fatalf("doctor: exit %d, want 5 (writes are refused with exit 5: %s):\n%s", d.code, strings.TrimSpace(w.stderr), d.stdout)
			}
		})
	}
}

// A wrong Redis password gets exit 1 from every command, and is not called
// "unreachable" (init-volume and doctor exited 6, calling Redis unavailable
// or unreachable, while write exited 1).
func TestWrongPasswordExitCodes(t *testing.T) {
	srv := needRedis(t)
	c := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Do(ctx, "ACL", "SETUSER", "wrongpw-test", "on", ">right-pw", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { c.Do(context.Background(), "ACL", "DELUSER", "wrongpw-test") })
	good := "redis://wrongpw-test:right-pw@" + srv.Addr()
	bad := "redis://wrongpw-test:wrong-pw@" + srv.Addr()
	v := newVolume(t, mode{name: "redis", redis: good})
	codes := map[string]int{}
	for _, args := range [][]string{
		{"write", "f", "--from", "-"},
		{"init-volume"},
		{"doctor"},
	} {
		r := runCLI(t, nil, "x", append([]string{"--root", v.root, "--redis", bad, "--timeout", "5s"}, args...)...)
		if strings.Contains(r.stdout+r.stderr, "wrong-pw") {
			t.Errorf("%s prints the password", args[0])
		}
		if strings.Contains(r.stdout+r.stderr, "unreachable") || strings.Contains(r.stdout+r.stderr, "unavailable") {
			t.Errorf("%s calls Redis unreachable on a wrong password: %s", args[0], r.stdout+r.stderr)
		}
		codes[args[0]] = r.code
		t.Logf("%s: exit %d: %s", args[0], r.code, strings.TrimSpace(r.stderr))
	}
	if codes["write"] != 1 || codes["init-volume"] != 1 || codes["doctor"] != 1 {
		t.Fatalf("wrong password: exit codes differ by command: %v", codes)
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}

// repair-record on a name that has no lock record at all (never written,
// a typo) says so (it said "lock record of NAME is sound").
func TestRepairRecordNoRecord(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			r := v.run(t, "", "repair-record", "never-written")
			if r.code != 0 || strings.Contains(r.stdout, "is sound") || !strings.Contains(r.stdout, "no lock record") {
				t.Fatalf("repair-record on a name with no record: exit %d, says %q", r.code, strings.TrimSpace(r.stdout))
			}
		})
	}
}
