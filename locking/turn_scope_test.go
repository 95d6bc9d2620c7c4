//go:build unix

package locking

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A turn file is opened as a lock file is (FORMAT.md): one that is a planted
// hard link to a file elsewhere, outside the root even, is refused. Taken,
// the turn would hold a flock on that other file (another program's lock
// file, or another key's) for as long as the turn lasts.
func TestTurnRefusesPlantedHardLink(t *testing.T) {
	root, d := newLockDir(t)
	outside := filepath.Join(t.TempDir(), "victim.lock")
	if err := os.WriteFile(outside, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("lease-1"))
	name := KeyHash("k") + "." + hex.EncodeToString(sum[:8]) + ".turn"
	if err := os.Link(outside, filepath.Join(root.Name(), LocksDir, name)); err != nil {
		t.Skip("link across the two temp directories:", err)
	}
	end, err := d.Turn(ctxTimeout(t, 5*time.Second), "k", "lease-1")
	if err == nil {
		defer end.End()
		f, oerr := os.OpenFile(outside, os.O_RDWR, 0)
		if oerr != nil {
			t.Fatal(oerr)
		}
		defer f.Close()
		if ferr := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); ferr != nil {
			t.Errorf("the turn holds a flock on the file outside the root (flock there: %v)", ferr)
		}
		t.Fatal("Turn took a turn file with two hard links; want it refused, as a lock file with two links is")
	}
}
