package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMoveSourceDotDotThroughSymlink: the source path is resolved by the
// kernel's rules (a ".." after a symlink climbs from the symlink's target),
// as mv(1), cat(1) and rename(2) do. Cleaned by spelling (as it was), it
// moved — and removed — a different file than the one the caller named.
func TestMoveSourceDotDotThroughSymlink(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			out := t.TempDir()
			if err := os.MkdirAll(filepath.Join(out, "other", "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(out, "spool"), 0o755); err != nil {
				t.Fatal(err)
			}
			// spool/lnk/../f is other/f to the kernel.
			if err := os.WriteFile(filepath.Join(out, "other", "f"), []byte("intended\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, "spool", "f"), []byte("bystander\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(out, "other", "dir"), filepath.Join(out, "spool", "lnk")); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(out, "spool", "lnk") + "/../f" // not Join: that would clean the ".."
			if b, err := os.ReadFile(src); err != nil || string(b) != "intended\n" {
				t.Fatalf("setup: the kernel reads %q as %q, %v", src, b, err)
			}
			r := v.run(t, "", "move", src, "dst")
			if b, err := os.ReadFile(filepath.Join(out, "spool", "f")); err != nil || string(b) != "bystander\n" {
				t.Errorf("move %q dst (exit %d, stderr %q): spool/f, which was not named, is now %q, %v; want it untouched",
					src, r.code, r.stderr, b, err)
			}
			if r.code == 0 {
				if b, _ := os.ReadFile(filepath.Join(v.root, "dst")); string(b) != "intended\n" {
					t.Errorf("move %q dst exit 0: dst holds %q; want %q (the file the path names)", src, b, "intended\n")
				}
			}
		})
	}
}

// TestMoveSourceTrailingSlash: "FILE/" and "FILE/." name a directory
// (rename(2) and mv(1) fail with ENOTDIR); a name ending in "/" as a target is
// refused by sharedwrite itself. Such a source is refused too (it was
// moved).
func TestMoveSourceTrailingSlash(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			spool := t.TempDir()
			for i, suffix := range []string{"/", "/."} {
				name := filepath.Join(spool, "f"+string(rune('0'+i)))
				if err := os.WriteFile(name, []byte("data\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				dst := "dst" + string(rune('0'+i))
				r := v.run(t, "", "move", name+suffix, dst)
				_, serr := os.Stat(name)
				_, derr := os.Stat(filepath.Join(v.root, dst))
				if r.code == 0 || serr != nil || derr == nil {
					t.Errorf("move %q %s: exit %d, stderr %q; source stat %v, destination stat %v; want a refusal (ENOTDIR, as mv) with the source kept and nothing at the destination",
						name+suffix, dst, r.code, r.stderr, serr, derr)
				}
			}
		})
	}
}

// TestMkdirModeExact: mkdir --mode sets the directory's permission
// exactly, as `write --mode` does for a file and as mkdir(1) -m does: the
// caller's umask does not strip group bits from a directory meant to be
// shared by replicas of one group (it did).
func TestMkdirModeExact(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			run := func(args ...string) result {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				all := append([]string{"-c", `umask 077; exec "$@"`, "sh", swBin}, v.args(args...)...)
				cmd := exec.CommandContext(ctx, "/bin/sh", all...)
				cmd.Env = baseEnv()
				cmd.Stdin = strings.NewReader("x\n")
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				r := result{stdout: out.String(), stderr: errb.String()}
				if ee, ok := err.(*exec.ExitError); ok {
					r.code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				return r
			}
			// For comparison: write --mode is exact under the same umask.
			if r := run("write", "w", "--mode", "0660"); r.code != 0 {
				t.Fatalf("write --mode 0660: exit %d: %s", r.code, r.stderr)
			}
			if fi, err := os.Stat(filepath.Join(v.root, "w")); err != nil || fi.Mode().Perm() != 0o660 {
				t.Fatalf("write --mode 0660 under umask 077: %v, %v", fi, err)
			}
			if r := run("mkdir", "shared/in", "--mode", "0770"); r.code != 0 {
				t.Fatalf("mkdir --mode 0770: exit %d: %s", r.code, r.stderr)
			}
			for _, d := range []string{"shared", "shared/in"} {
				fi, err := os.Stat(filepath.Join(v.root, d))
				if err != nil || fi.Mode().Perm() != 0o770 {
					t.Errorf("mkdir shared/in --mode 0770 under umask 077: %s is %v, %v; want mode 0770 (as write --mode gives 0660 under the same umask)", d, fi.Mode().Perm(), err)
				}
			}
		})
	}
}

// TestMoveSourceIsLiveTemp: a source inside the root that is
// sharedwrite's own temp — here the temp a concurrent `write` is filling,
// flocked by it — is refused, as such names are refused as targets: moving
// it stole the other writer's data into another name (committed with a
// sha256 of half the content) and made that write fail.
func TestMoveSourceIsLiveTemp(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			cmd := exec.Command(swBin, v.args("write", "slow")...)
			cmd.Env = baseEnv()
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			if _, err := in.Write([]byte("part1\n")); err != nil {
				t.Fatal(err)
			}
			var temp string
			for deadline := time.Now().Add(10 * time.Second); temp == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if l := leftovers(t, v.root); len(l) == 1 && strings.HasPrefix(l[0], ".slow.sw.") {
					temp = l[0]
				}
			}
			if temp == "" {
				t.Fatal("the writer's temp did not appear")
			}
			time.Sleep(100 * time.Millisecond) // part1 written to the temp
			r := v.run(t, "", "move", filepath.Join(v.root, temp), "stolen")
			in.Write([]byte("part2\n"))
			in.Close()
			werr := cmd.Wait()
			if r.code == 0 {
				t.Errorf("move of the live temp %q of a concurrent write: exit 0; want it refused (a sharedwrite temp name, as for targets)", temp)
			}
			if b, err := os.ReadFile(filepath.Join(v.root, "slow")); werr != nil || err != nil || string(b) != "part1\npart2\n" {
				t.Errorf("the concurrent write: %v (%s); slow = %q, %v; want it committed with %q", werr, strings.TrimSpace(errb.String()), b, err, "part1\npart2\n")
			}
		})
	}
}
