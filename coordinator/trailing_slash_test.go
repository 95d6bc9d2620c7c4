package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteFile and InitOnce of "d/" are refused (a trailing slash names a
// directory) and create no regular file d.
func TestTrailingSlashWritesNoFile(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 10*time.Second)
			err := c.WriteFile(ctx, "d/", []byte("x"), 0o644)
			if _, serr := os.Lstat(filepath.Join(root, "d")); err == nil || serr == nil {
				t.Errorf("WriteFile(\"d/\"): err=%v, file d created=%v; want an error and no file", err, serr == nil)
			}
			out, err := c.InitOnce(ctx, "i/", func(ctxx context.Context) ([]byte, error) { return []byte("gen"), nil })
			if _, serr := os.Lstat(filepath.Join(root, "i")); err == nil || serr == nil {
				t.Errorf("InitOnce(\"i/\"): %q, err=%v, file i created=%v; want an error and no file", out, err, serr == nil)
			}
		})
	}
}
