package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// TestWriteFromDirectoryChangesNothing: `write NAME --from DIR` is refused
// (exit 5, naming --from and EISDIR, as a directory given as move's source
// is) as soon as --from is opened, before NAME is locked. It used to fail
// only on the first read, under NAME's lease and lock: in local mode a
// missing --root was then created and left behind with a lock file in it,
// and in an existing root NAME got a lock file of its own.
func TestWriteFromDirectoryChangesNothing(t *testing.T) {
	refused := func(t *testing.T, r result, from string) {
		t.Helper()
		if r.code != 5 || !strings.Contains(r.stderr, "--from "+quote.Name(from)) || !strings.Contains(r.stderr, "is a directory") {
			t.Errorf("exit %d, stderr %q; want exit 5 naming --from %q and EISDIR", r.code, r.stderr, from)
		}
	}

	t.Run("missing root", func(t *testing.T) {
		from := t.TempDir()
		v := volume{root: filepath.Join(t.TempDir(), "vol", "root")}
		refused(t, v.run(t, "", "write", "f", "--from", from), from)
		if _, err := os.Lstat(filepath.Dir(v.root)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after the refusal (%v); want it never created", filepath.Dir(v.root), err)
		}
	})

	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "old\n", "write", "cfg"); r.code != 0 {
				t.Fatalf("write cfg: exit %d: %s", r.code, r.stderr)
			}
			locks := filepath.Join(v.root, ".sharedwrite", "locks")
			before := lockNames(t, locks)
			from := t.TempDir()
			refused(t, v.run(t, "", "write", "f", "--from", from), from)
			refused(t, v.run(t, "", "write", "cfg", "--from", from), from)
			if after := lockNames(t, locks); !slices.Equal(after, before) {
				t.Errorf("lock files: got %q; want %q (none made for the refused name)", after, before)
			}
			if _, err := os.Lstat(filepath.Join(v.root, "f")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("f exists after the refusal (%v)", err)
			}
			if b, err := os.ReadFile(filepath.Join(v.root, "cfg")); err != nil || string(b) != "old\n" {
				t.Errorf("cfg holds %q (%v); want the old content", b, err)
			}
			if got := leftovers(t, v.root); len(got) > 0 {
				t.Errorf("temps left: %q", got)
			}
		})
	}
}

// lockNames lists the names in the directory of lock files, sorted.
func lockNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
