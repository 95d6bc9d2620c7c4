//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestClosedStdinChangesNothing: a stdin closed when the CLI starts cannot
// be read, which is known before anything is done, so `write` and
// `init --from -` refuse it (exit 1, naming stdin and EBADF) before they
// open the volume. They used to take NAME's lease and lock first and fail
// on the read: in local mode a missing --root was then created and left
// behind with a lock file in it, and in an existing root NAME got a lock
// file of its own. `init --from -` refuses it also when NAME exists, as it
// refuses every input it cannot read.
func TestClosedStdinChangesNothing(t *testing.T) {
	cmds := []struct {
		name string
		args []string
	}{
		{"write", []string{"write", "fresh"}},
		{"write --from -", []string{"write", "fresh", "--from", "-"}},
		{"init --from -", []string{"init", "fresh", "--from", "-"}},
		{"init --from - of an existing name", []string{"init", "cfg", "--from", "-"}},
	}
	refused := func(t *testing.T, r result) {
		t.Helper()
		if r.code != 1 || !strings.Contains(r.stderr, "stdin") || !strings.Contains(r.stderr, "bad file descriptor") {
			t.Errorf("exit %d, stderr %q; want exit 1 naming stdin and EBADF", r.code, r.stderr)
		}
	}

	t.Run("missing root", func(t *testing.T) {
		for _, c := range cmds[:3] {
			t.Run(c.name, func(t *testing.T) {
				v := volume{root: filepath.Join(t.TempDir(), "vol", "root")}
				refused(t, v.runRedirected(t, "<&-", c.args...))
				if _, err := os.Lstat(filepath.Dir(v.root)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after the refusal (%v); want it never created", filepath.Dir(v.root), err)
				}
			})
		}
	})

	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			for _, c := range cmds {
				t.Run(c.name, func(t *testing.T) {
					v := newVolume(t, m)
					if r := v.run(t, "old\n", "write", "cfg"); r.code != 0 {
						t.Fatalf("write cfg: exit %d: %s", r.code, r.stderr)
					}
					locks := filepath.Join(v.root, ".sharedwrite", "locks")
					before := lockNames(t, locks)
					refused(t, v.runRedirected(t, "<&-", c.args...))
					if after := lockNames(t, locks); !slices.Equal(after, before) {
						t.Errorf("lock files: got %q; want %q (none made for the refused name)", after, before)
					}
					if _, err := os.Lstat(filepath.Join(v.root, "fresh")); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("fresh exists after the refusal (%v)", err)
					}
					if b, err := os.ReadFile(filepath.Join(v.root, "cfg")); err != nil || string(b) != "old\n" {
						t.Errorf("cfg holds %q (%v); want the old content", b, err)
					}
				})
			}
		})
	}
}
