package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMetadataNamesRefused: no operation may name the volume's own metadata
// (.sharedwrite, in any case, and anything under it): each is refused with an error wrapping
// ErrOutsideRoot (exit 5), and the metadata is left as it was.
func TestMetadataNamesRefused(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "seed", []byte("seed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, ".sharedwrite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".sharedwrite", "config"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), "spool")
	ops := map[string]func(name string) error{
		"write":  func(n string) error { return c.WriteFile(ctx, n, []byte("x"), 0o644) },
		"remove": func(n string) error { return c.Remove(ctx, n) },
		"mkdir":  func(n string) error { return c.MkdirAll(ctx, n, 0o755) },
		"read":   func(n string) error { _, err := c.ReadFile(ctx, n); return err },
		"update": func(n string) error {
			return c.Update(ctx, n, func([]byte, bool) ([]byte, error) { return []byte("x"), nil })
		},
		"lock": func(n string) error {
			return c.Lock(ctx, n, func(context.Context, LeaseInfo) error { return nil })
		},
		"move": func(n string) error {
			if err := os.WriteFile(spool, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return c.Move(ctx, spool, n)
		},
		"move-src": func(n string) error { return c.Move(ctx, filepath.Join(root, n), "moved") },
	}
	// Also spelled in another case: on a case-insensitive volume (macOS,
	// Windows, ext4 casefold) that is the same directory.
	for _, name := range []string{".sharedwrite", ".sharedwrite/config", "./.sharedwrite/volume-id", ".sharedwrite/locks/x", ".sharedwrite/tx/new/y", ".SHAREDWRITE/config", ".Sharedwrite/locks/x"} {
		for op, fn := range ops {
			t.Run(op+"/"+name, func(t *testing.T) {
				err := fn(name)
				if !errors.Is(err, ErrOutsideRoot) || !errors.Is(err, ErrMetadataName) {
					t.Errorf("%s %q: got %v; want ErrMetadataName (wrapping ErrOutsideRoot)", op, name, err)
				}
				if got := ExitCode(err); got != ExitBadPath {
					t.Errorf("%s %q: exit %d; want %d", op, name, got, ExitBadPath)
				}
			})
		}
	}
	if got := readFile(t, filepath.Join(root, ".sharedwrite", "config")); got != "keep" {
		t.Errorf(".sharedwrite/config = %q; want %q", got, "keep")
	}
	for _, p := range []string{".sharedwrite/locks/x", ".sharedwrite/tx/new", "moved"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after refusals (err %v)", p, err)
		}
	}
}
