package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsThatCreateNothingRefuseAMissingRoot: in local mode, read, rm,
// rotate, clean and repair-record on a --root that does not exist (a typo, a
// volume not mounted) fail with exit 5 naming the root and ENOENT, and do not
// create it: only a command that creates a file may create its volume.
func TestCommandsThatCreateNothingRefuseAMissingRoot(t *testing.T) {
	for _, args := range [][]string{
		{"read", "f"},
		{"watch", "f"},
		{"rm", "f"},
		{"rotate", "f"},
		{"clean"},
		{"repair-record", "f"},
	} {
		t.Run(args[0], func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "missing")
			r := runCLI(t, nil, "", append([]string{"--root", root}, args...)...)
			if r.code != 5 || !strings.Contains(r.stderr, "missing") || !strings.Contains(r.stderr, "no such file or directory") {
				t.Errorf("%s on a missing root: exit %d, stderr %q; want exit 5 naming the root and ENOENT", args[0], r.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q; want none", r.stdout)
			}
			if _, err := os.Lstat(root); err == nil {
				t.Errorf("%s created the missing root", args[0])
			}
		})
	}
}

// TestWriteCreatesAMissingRootInLocalMode: a command that creates a file
// still creates its missing root in local mode (a fresh machine).
func TestWriteCreatesAMissingRootInLocalMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "fresh", "root")
	if r := runCLI(t, nil, "hello\n", "--root", root, "write", "f"); r.code != 0 {
		t.Fatalf("write on a missing root: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if got := readAll(t, filepath.Join(root, "f")); got != "hello\n" {
		t.Errorf("f holds %q; want %q", got, "hello\n")
	}
}
