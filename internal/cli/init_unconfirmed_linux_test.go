//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestInitUnconfirmedPrintsTheContent: init creates the file, but the volume
// refuses the directory fsync after the link: exit 7, committed with its
// durability unconfirmed. The file is there, and every later init prints
// it; this one must print it too, or a caller that accepts exit 7 as
// committed goes on with an empty secret while the other replicas use the
// file's.
func TestInitUnconfirmedPrintsTheContent(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	newG := func(stdout *bytes.Buffer) *globals {
		var stderr bytes.Buffer
		g := &globals{root: fs.Dir, leaseTTL: 10 * time.Second, timeout: 30 * time.Second, logFormat: "text", logLevel: "error",
			stdin: strings.NewReader(""), stdout: stdout, stderr: &stderr}
		logger, err := newLogger(&stderr, "text", "error")
		if err != nil {
			t.Fatal(err)
		}
		g.logger = logger
		return g
	}
	// The volume's own directories first, so that the refused fsync is the
	// create's.
	if err := runInit(context.Background(), newG(&bytes.Buffer{}), &initOpts{name: "other", argv: []string{"echo", "x"}}); err != nil {
		t.Fatal(err)
	}

	const secret = "s3cret-from-the-generator\n"
	fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Errno: syscall.EIO, Count: 1})
	var out bytes.Buffer
	err := runInit(context.Background(), newG(&out), &initOpts{name: "secret", argv: []string{"printf", "%s", secret}})
	fs.Clear()
	if fs.Injected(faultfs.OpFsyncDir) == 0 {
		t.Fatalf("no directory fsync was refused (init: %v)", err)
	}
	if got := exitCode(err); got != exitUnconfirmed {
		t.Fatalf("exit code %d (%v); want %d", got, err, exitUnconfirmed)
	}
	if b, rerr := os.ReadFile(filepath.Join(fs.Backing, "secret")); rerr != nil || string(b) != secret {
		t.Fatalf("secret = %q, %v; want %q created", b, rerr, secret)
	}
	if got := out.String(); got != secret {
		t.Errorf("init printed %q; want the content it created, %q", got, secret)
	}
}
