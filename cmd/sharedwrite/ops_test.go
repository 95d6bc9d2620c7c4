package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOperations runs each remaining command once in each mode and checks
// what it left on the volume.
func TestOperations(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			ok := func(r result, what string) {
				t.Helper()
				if r.code != 0 {
					t.Fatalf("%s: exit %d; stderr %s", what, r.code, r.stderr)
				}
			}
			ok(v.run(t, "", "mkdir", "a/b/c", "--mode", "0750"), "mkdir")
			if fi, err := os.Stat(filepath.Join(v.root, "a/b/c")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
				t.Errorf("a/b/c: %v, %v; want a directory with mode 0750", fi, err)
			}

			src := filepath.Join(t.TempDir(), "spool.txt")
			if err := os.WriteFile(src, []byte("moved\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			ok(v.run(t, "", "move", src, "a/b/c/moved.txt"), "move")
			if b, err := os.ReadFile(filepath.Join(v.root, "a/b/c/moved.txt")); string(b) != "moved\n" {
				t.Errorf("moved file: %q, %v; want %q", b, err, "moved\n")
			}
			if _, err := os.Stat(src); !os.IsNotExist(err) {
				t.Errorf("move source: stat error %v; want it gone", err)
			}

			from := filepath.Join(t.TempDir(), "from")
			if err := os.WriteFile(from, []byte("from a file\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			ok(v.run(t, "", "write", "w.txt", "--from", from, "--mode", "0640"), "write --from --mode")
			fi, err := os.Stat(filepath.Join(v.root, "w.txt"))
			if err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("w.txt: %v, %v; want mode 0640", fi, err)
			}
			old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := os.Chtimes(filepath.Join(v.root, "w.txt"), old, old); err != nil {
				t.Fatal(err)
			}
			ok(v.run(t, "kept mtime\n", "write", "w.txt", "--keep-mtime"), "write --keep-mtime")
			fi, err = os.Stat(filepath.Join(v.root, "w.txt"))
			if err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 {
				t.Errorf("w.txt after --keep-mtime: %v, %v; want mtime %v and mode 0640 kept", fi.ModTime(), err, old)
			}
			if rd := v.run(t, "", "read", "w.txt"); rd.code != 0 || rd.stdout != "kept mtime\n" {
				t.Errorf("read w.txt: exit %d, stdout %q, stderr %q; want 0 and %q", rd.code, rd.stdout, rd.stderr, "kept mtime\n")
			}
			if rd := v.run(t, "", "read", "nothing-here"); rd.code != 1 || rd.stdout != "" || !strings.Contains(rd.stderr, "nothing-here") || !strings.Contains(rd.stderr, "no such file") {
				t.Errorf("read of a missing file: exit %d, stdout %q, stderr %q; want 1 naming it and ENOENT", rd.code, rd.stdout, rd.stderr)
			}
			if r := v.run(t, "", "write", "w.txt", "--from", filepath.Join(t.TempDir(), "missing")); r.code != 1 || !strings.Contains(r.stderr, "missing") {
				t.Errorf("write --from a missing file: exit %d, stderr %q; want 1 naming the file", r.code, r.stderr)
			}

			ok(v.run(t, "", "rm", "w.txt"), "rm")
			if _, err := os.Stat(filepath.Join(v.root, "w.txt")); !os.IsNotExist(err) {
				t.Errorf("w.txt after rm: stat error %v; want it gone", err)
			}

			// An orphan temp of this host (no writer holds it), old enough.
			host, _ := os.Hostname()
			orphan := filepath.Join(v.root, ".x.sw."+strings.NewReplacer(".", "-", "/", "-").Replace(host)+".1.1.deadbeef.tmp")
			if err := os.WriteFile(orphan, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(orphan, old, old); err != nil {
				t.Fatal(err)
			}
			r := v.run(t, "", "clean", "--older-than", "1m")
			ok(r, "clean")
			if !strings.Contains(r.stdout, "removed 1 orphan") {
				t.Errorf("clean output %q; want it to report the orphan removed", r.stdout)
			}
			if _, err := os.Stat(orphan); !os.IsNotExist(err) {
				t.Errorf("orphan temp after clean: stat error %v; want it gone", err)
			}

			r = v.run(t, "first\n", "init", "seed.txt", "--from", "-")
			ok(r, "init --from -")
			if r.stdout != "first\n" {
				t.Errorf("init --from - printed %q; want %q", r.stdout, "first\n")
			}
			r = v.run(t, "", "init", "seed.txt", "--from", from)
			ok(r, "init --from FILE on an existing file")
			if r.stdout != "first\n" {
				t.Errorf("second init printed %q; want the existing %q", r.stdout, "first\n")
			}

			r = v.run(t, "", "version")
			ok(r, "version")
			if !strings.HasPrefix(r.stdout, "sharedwrite ") {
				t.Errorf("version: %q", r.stdout)
			}
		})
	}
}
