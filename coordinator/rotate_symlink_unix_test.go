//go:build unix

package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A symlink planted beside a log under a rotated file's name, pointing to
// another file of the root, is not a rotated file: Rotate's Keep, MaxAge and
// Gzip (its leftovers) neither compress nor remove the file it points to,
// and leave the symlink itself alone.
func TestRotateIgnoresPlantedRotatedSymlink(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []LogOption
	}{
		{"keep", []LogOption{Keep(1)}},
		{"max age", []LogOption{MaxAge(time.Hour)}},
		{"gzip", []LogOption{Gzip()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "precious.txt", []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Rotated in 2000 with token 0: older than any real rotation.
			link := "app.log." + time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC).Format(rotatedTimeFormat) + ".0"
			if err := os.Symlink("precious.txt", filepath.Join(root, link)); err != nil {
				t.Fatal(err)
			}
			a := c.Appender("app.log")
			defer a.Close()
			for i := range 2 {
				if err := a.Append(ctx, []byte("line\n")); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Rotate(ctx, "app.log", tc.opts...); err != nil {
					t.Fatalf("Rotate %d: %v", i, err)
				}
			}
			if got := readFile(t, filepath.Join(root, "precious.txt")); got != "precious\n" {
				t.Errorf("precious.txt holds %q; want it kept as written", got)
			}
			if fi, err := os.Lstat(filepath.Join(root, link)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("planted symlink: %v, %v; want it left as it is", fi, err)
			}
			if _, err := os.Lstat(filepath.Join(root, link+".gz")); !os.IsNotExist(err) {
				t.Errorf("%s.gz: %v; want none (the symlink is not a rotated file)", link, err)
			}
		})
	}
}
