//go:build unix

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMkdirReadOnlyModeWithParents: `mkdir a/b --mode 0555` (as
// mkdir -p -m 0555 a/b) works for an ordinary user: the missing parent gets
// owner write and search too (given the read-only mode, as it was, creating
// the child below it failed with EACCES every time).
func TestMkdirReadOnlyModeWithParents(t *testing.T) {
	root := t.TempDir()
	// A directory an unprivileged user can reach, with its own copy of the
	// binary (the package's build directory is private to this user).
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "sharedwrite")
	data, err := os.ReadFile(swBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(root, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	var attr *syscall.SysProcAttr
	if os.Geteuid() == 0 {
		// root ignores permissions: run as nobody.
		if err := os.Chown(vol, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--root", vol, "mkdir", "a/b", "--mode", "0555")
	cmd.Env = baseEnv()
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("mkdir a/b --mode 0555 as an ordinary user: %v: %s; want a/b created (mkdir -p -m 0555 a/b works)", err, strings.TrimSpace(string(out)))
	}
	if fi, err := os.Stat(filepath.Join(vol, "a", "b")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("a/b: %v, %v; want a directory with mode 0555", fi, err)
	}
	// Let the test's cleanup remove what nobody created.
	filepath.Walk(vol, func(p string, _ os.FileInfo, _ error) error { os.Chmod(p, 0o755); return nil })
}
