//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFailedCommandKeepsARootAnotherCommandUsed: a command that created its
// root and then fails keeps the root when another command wrote into it
// meanwhile: its file, and the volume that file's lock lives in, stay.
func TestFailedCommandKeepsARootAnotherCommandUsed(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "new")
	// --from a named pipe no writer opens: the first command waits in its
	// open, after it created the root and opened the volume, until
	// --timeout passes.
	fifo := filepath.Join(top, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	first := volume{root: root}.start(t, "--timeout", "3s", "write", "f", "--from", fifo)
	waitForFile(t, filepath.Join(root, ".sharedwrite", "config"), 30*time.Second)
	if r := runCLI(t, nil, "other\n", "--root", root, "write", "g"); r.code != 0 {
		t.Fatalf("the second command: exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	if code := first.wait(t, time.Minute); code != 3 {
		t.Fatalf("the first command: exit %d, stderr %q; want 3 (--timeout)", code, first.errb.String())
	}
	if got := readAll(t, filepath.Join(root, "g")); got != "other\n" {
		t.Errorf("g holds %q; want %q", got, "other\n")
	}
	if _, err := os.Stat(filepath.Join(root, ".sharedwrite", "volume-id")); err != nil {
		t.Errorf("the volume's id: %v; want it kept", err)
	}
}
