//go:build linux

package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A read-only replica reads a Redis-mode volume that an older init-volume
// left without .sharedwrite/locks (the volume id and the config only) and no
// writer has opened since: a file with no lock file reads as it is, a missing
// name fails with ENOENT, not EROFS, and nothing is created. Once a writer has
// written, the replica reads what it wrote.
func TestReadOnlyOldRedisVolumeReads(t *testing.T) {
	testrig.NeedRoot(t)
	srv := needRedis(t)
	rw := volume{mode: mode{name: "redis", redis: srv.URL()}, root: t.TempDir()}
	id := make([]byte, 16)
	rand.Read(id)
	if err := os.MkdirAll(filepath.Join(rw.root, ".sharedwrite"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".sharedwrite/volume-id": hex.EncodeToString(id) + "\n",
		".sharedwrite/config":    "mode=redis\n",
		"plain":                  "as put there\n",
	} {
		if err := os.WriteFile(filepath.Join(rw.root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ro := readOnlyView(t, rw)

	if r := ro.run(t, "", "read", "plain"); r.code != 0 || r.stdout != "as put there\n" {
		t.Errorf("read of a file with no lock file, through the read-only view: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "as put there\n")
	}
	r := ro.run(t, "", "read", "cfg")
	if r.code != 1 || !strings.Contains(r.stderr, syscall.ENOENT.Error()) || strings.Contains(r.stderr, syscall.EROFS.Error()) {
		t.Errorf("read of a name never written, through the read-only view: exit %d, stderr %q; want 1, naming ENOENT, not EROFS", r.code, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(rw.root, ".sharedwrite/locks")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf(".sharedwrite/locks after reads through the read-only view: %v; want it still missing", err)
	}

	if r := rw.run(t, "one\n", "write", "cfg"); r.code != 0 {
		t.Fatalf("write through the read-write path: exit %d: %s", r.code, r.stderr)
	}
	if r := ro.run(t, "", "read", "cfg"); r.code != 0 || r.stdout != "one\n" {
		t.Errorf("read through the read-only view after a writer wrote: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "one\n")
	}
}
