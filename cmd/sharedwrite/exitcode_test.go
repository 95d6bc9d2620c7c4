package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

func TestExitCodeUninitialisedVolume(t *testing.T) {
	r := needRedis(t)
	v := volume{mode: mode{name: "redis", redis: r.URL()}, root: t.TempDir()}
	res := v.run(t, "x", "write", "a.txt")
	if res.code != 5 {
		t.Errorf("write on an uninitialised volume in Redis mode: exit %d; want 5; stderr: %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "init-volume") {
		t.Errorf("stderr %q; want it to tell to run init-volume", res.stderr)
	}
	if _, err := os.Stat(filepath.Join(v.root, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("a.txt: stat error %v; want it not to exist", err)
	}
}

func TestExitCodeModeMismatch(t *testing.T) {
	r := needRedis(t)
	local := newVolume(t, mode{name: "local"})
	if res := local.run(t, "x", "write", "a.txt"); res.code != 0 {
		t.Fatalf("local write: exit %d: %s", res.code, res.stderr)
	}
	redis := volume{mode: mode{name: "redis", redis: r.URL()}, root: local.root}
	if res := redis.run(t, "y", "write", "a.txt"); res.code != 5 {
		t.Errorf("Redis-mode write on a local-mode volume: exit %d; want 5; stderr: %s", res.code, res.stderr)
	}
}

func TestExitCodeRedisUnreachable(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	port, err := testrig.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v.redis = fmt.Sprintf("redis://:s3cret-pw@127.0.0.1:%d", port)
	const timeout = 2 * time.Second
	res := v.run(t, "x", "--timeout", timeout.String(), "write", "a.txt")
	if res.code != 6 {
		t.Errorf("Redis unreachable: exit %d; want 6; stderr: %s", res.code, res.stderr)
	}
	if limit := timeout + 5*time.Second; res.took > limit {
		t.Errorf("Redis unreachable: took %v; want within --timeout %v (+ margin)", res.took, timeout)
	}
	if strings.Contains(res.stderr, "s3cret-pw") {
		t.Errorf("stderr shows the password: %s", res.stderr)
	}
}

// TestExitCodeHeld: a key locked by another process, a short --timeout: exit 3
// and the message names the holder.
func TestExitCodeHeld(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			mark := filepath.Join(t.TempDir(), "holding")
			holder := v.start(t, "lock", "k", "--", "sh", "-c", `touch "$0"; sleep 60`, mark)
			waitForFile(t, mark, 30*time.Second)
			res := v.run(t, "x", "--timeout", "1s", "write", "k")
			if res.code != 3 {
				t.Errorf("write on a held key: exit %d; want 3; stderr: %s", res.code, res.stderr)
			}
			if pid := strconv.Itoa(holder.cmd.Process.Pid); !strings.Contains(res.stderr, pid) {
				t.Errorf("stderr %q; want it to name the holder (pid %s)", res.stderr, pid)
			}
			if !strings.Contains(res.stderr, `"k"`) {
				t.Errorf("stderr %q; want it to name the key", res.stderr)
			}
		})
	}
}

func TestExitCodeBadPath(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(v.root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(v.root, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "a/../../x", "escape/x", "dangling", "/etc/passwd-not"} {
		t.Run(name, func(t *testing.T) {
			res := v.run(t, "x", "write", name)
			if res.code != 5 {
				t.Errorf("write %q: exit %d; want 5; stderr: %s", name, res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, strconv.Quote(name)) {
				t.Errorf("stderr %q; want it to name %q", res.stderr, name)
			}
		})
	}
	ents, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("files written outside the root: %v", ents)
	}
}

// TestExitCodeCorruptRecord: a garbage lock record makes a write exit 5 with
// the file untouched and a hint to repair-record, which rewrites the record
// (exit 0); then writes work again, in both modes.
func TestExitCodeCorruptRecord(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "one", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			lock := filepath.Join(v.root, locking.LockPath("cfg"))
			f, err := os.OpenFile(lock, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("garbage"), 0); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r := v.run(t, "two", "write", "cfg")
			if r.code != 5 || !strings.Contains(r.stderr, "corrupt lock record") || !strings.Contains(r.stderr, "repair-record") {
				t.Fatalf("write over a corrupt record: exit %d, stderr %q; want 5, naming the corrupt record and repair-record", r.code, r.stderr)
			}
			if got := readAll(t, filepath.Join(v.root, "cfg")); got != "one" {
				t.Fatalf("cfg after the refused write = %q; want one", got)
			}
			r = v.run(t, "", "repair-record", "cfg")
			if r.code != 0 || !strings.Contains(r.stdout, "rewritten") {
				t.Fatalf("repair-record: exit %d, stdout %q, stderr %q; want 0 and rewritten", r.code, r.stdout, r.stderr)
			}
			if r := v.run(t, "two", "write", "cfg"); r.code != 0 {
				t.Fatalf("write after repair-record: exit %d: %s", r.code, r.stderr)
			}
			if got := readAll(t, filepath.Join(v.root, "cfg")); got != "two" {
				t.Fatalf("cfg after the repair and a write = %q; want two", got)
			}
			r = v.run(t, "", "repair-record", "cfg")
			if r.code != 0 || !strings.Contains(r.stdout, "sound") {
				t.Fatalf("repair-record of a sound record: exit %d, stdout %q; want 0 and sound", r.code, r.stdout)
			}

			// A record of another format version: refused, and the hint
			// does not send the operator to repair-record.
			f, err = os.OpenFile(lock, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{2}, 4); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r = v.run(t, "three", "write", "cfg")
			if r.code != 5 || !strings.Contains(r.stderr, "another format version") || strings.Contains(r.stderr, "repair-record") {
				t.Fatalf("write over a record of another version: exit %d, stderr %q; want 5 and the format-version hint only", r.code, r.stderr)
			}
			if r := v.run(t, "", "repair-record", "cfg"); r.code != 5 {
				t.Fatalf("repair-record of a record of another version: exit %d (%s); want 5", r.code, r.stderr)
			}
			if got := readAll(t, filepath.Join(v.root, "cfg")); got != "two" {
				t.Fatalf("cfg after the refused write = %q; want two", got)
			}
		})
	}
}

func TestExitCodeUsage(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, args := range [][]string{
		{},
		{"no-such-command"},
		{"write"},
		{"write", "a", "b"},
		{"write", "a", "--no-such-flag"},
		{"update", "counter"},
		{"update", "--", "cat"},
		{"init", "cfg"},
		{"init", "cfg", "--from", "-", "--", "cat"},
		{"lock", "k"},
		{"mkdir", "d", "--mode", "rwx"},
		{"--log-format", "xml", "version"},
		{"--timeout", "soon", "version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := v.run(t, "", args...)
			if res.code != 2 {
				t.Errorf("exit %d; want 2; stderr: %s", res.code, res.stderr)
			}
		})
	}
}

// TestExitCodeCommandFailed: the command after -- fails: exit 8, nothing written.
func TestExitCodeCommandFailed(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if res := v.run(t, "orig\n", "write", "f"); res.code != 0 {
				t.Fatalf("write: exit %d: %s", res.code, res.stderr)
			}
			res := v.run(t, "", "update", "f", "--", "sh", "-c", `cat >/dev/null; echo new; exit 3`)
			if res.code != 8 {
				t.Errorf("update with a failing command: exit %d; want 8; stderr: %s", res.code, res.stderr)
			}
			if b, _ := os.ReadFile(filepath.Join(v.root, "f")); string(b) != "orig\n" {
				t.Errorf("f holds %q after a failed update; want %q", b, "orig\n")
			}
			res = v.run(t, "", "init", "g", "--", "sh", "-c", `echo partial; exit 1`)
			if res.code != 8 {
				t.Errorf("init with a failing command: exit %d; want 8; stderr: %s", res.code, res.stderr)
			}
			if _, err := os.Stat(filepath.Join(v.root, "g")); !os.IsNotExist(err) {
				t.Errorf("g after a failed init: stat error %v; want not to exist", err)
			}
			if res := v.run(t, "", "update", "f", "--", "/no/such/program"); res.code != 8 {
				t.Errorf("update with a missing program: exit %d; want 8; stderr: %s", res.code, res.stderr)
			}
			if l := leftovers(t, v.root); len(l) > 0 {
				t.Errorf("temps left behind: %q", l)
			}
		})
	}
}
