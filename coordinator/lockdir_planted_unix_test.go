//go:build unix

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A lock directory (or the metadata directory above it) that is not a
// directory, here a symlink planted to a directory outside the root, is a
// bad volume: Open refuses it with ENOTDIR (exit 5, like a planted tx/), and
// nothing is created where the symlink points.
func TestOpenRefusesPlantedLockDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		symlink bool // a symlink to a directory outside the root; else a file
	}{
		{"symlink", true},
		{"file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			outside := t.TempDir()
			c, err := Open(context.Background(), root)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			locks := filepath.Join(root, metaDir, "locks")
			if err := os.RemoveAll(locks); err != nil {
				t.Fatal(err)
			}
			if tc.symlink {
				if err := os.Symlink(outside, locks); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(locks, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(context.Background(), root)
			if !errors.Is(err, syscall.ENOTDIR) || ExitCode(err) != ExitBadPath {
				t.Errorf("Open = %v (exit %d); want ENOTDIR, exit %d", err, ExitCode(err), ExitBadPath)
			}
			if ents, err := os.ReadDir(outside); err != nil || len(ents) != 0 {
				t.Errorf("outside directory: %v, %v; want it empty", ents, err)
			}
		})
	}
}
