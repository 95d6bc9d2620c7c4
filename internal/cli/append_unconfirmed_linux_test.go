//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendRotateAtUnconfirmedGoesOn: append --rotate-at on a volume that
// refuses a directory fsync once (the rotation's): that rotation and its batch
// are committed, durability unconfirmed. The lines after them are appended
// too, and append exits 7 (committed, durability unconfirmed) with every line
// of stdin in the log's files, each once.
func TestAppendRotateAtUnconfirmedGoesOn(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	run := func(stdin string) error {
		var stderr bytes.Buffer
		g := &globals{root: fs.Dir, leaseTTL: 10 * time.Second, timeout: 30 * time.Second, logFormat: "text", logLevel: "error",
			stdin: strings.NewReader(stdin), stdout: &bytes.Buffer{}, stderr: &stderr}
		logger, err := newLogger(&stderr, "text", "error")
		if err != nil {
			t.Fatal(err)
		}
		g.logger = logger
		// One line per batch, and a rotation before each batch.
		return runAppend(context.Background(), g, &appendOpts{name: "app.log", maxBytes: 1, mode: "0644", maxQueued: 4, rotateAt: 1})
	}
	if err := run("zero\n"); err != nil {
		t.Fatal(err)
	}
	fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Errno: syscall.EIO, Count: 1})
	err := run("one\ntwo\nthree\n")
	fs.Clear()
	if fs.Injected(faultfs.OpFsyncDir) == 0 {
		t.Fatal("no directory fsync was refused")
	}
	if got := exitCode(err); got != exitUnconfirmed {
		t.Errorf("exit code %d (%v); want %d", got, err, exitUnconfirmed)
	}
	entries, rerr := os.ReadDir(fs.Backing)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var lines []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "app.log") {
			continue
		}
		b, rerr := os.ReadFile(filepath.Join(fs.Backing, e.Name()))
		if rerr != nil {
			t.Fatal(rerr)
		}
		lines = append(lines, strings.Fields(string(b))...)
	}
	sort.Strings(lines)
	if got, want := strings.Join(lines, " "), "one three two zero"; got != want {
		t.Errorf("the log's files hold %q; want %q (append: %v)", got, want, err)
	}
}
