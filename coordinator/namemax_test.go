package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A name that can never exist (a component over the filesystem's limit,
// under a missing directory) is refused before its key is locked: no lock
// file, no record naming a pending version of it.
func TestOverlongNameIsRefusedBeforeTheLock(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 20*time.Second)
			name := "deep/er/" + strings.Repeat("L", 300)
			src := filepath.Join(t.TempDir(), "src")
			mustWrite(t, src, "payload")
			for what, err := range map[string]error{
				"WriteFile": c.WriteFile(ctx, name, []byte("x"), 0o644),
				"Move":      c.Move(ctx, src, name),
			} {
				if !errors.Is(err, syscall.ENAMETOOLONG) || ExitCode(err) != ExitBadPath {
					t.Errorf("%s = %v (exit %d); want ENAMETOOLONG, exit 5", what, err, ExitCode(err))
				}
			}
			ents, err := os.ReadDir(filepath.Join(root, metaDir, "locks"))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if len(ents) != 0 {
				t.Errorf("lock files made for a name that cannot exist: %d", len(ents))
			}
			if got := readFile(t, src); got != "payload" {
				t.Errorf("move source = %q; want it untouched", got)
			}
		})
	}
}
