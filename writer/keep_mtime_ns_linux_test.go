//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestKeepMtimeNanoseconds: KeepMtime keeps the replaced file's
// modification time as it is, to the nanosecond the filesystem stores (ext4,
// xfs, tmpfs, btrfs all keep nanoseconds), on the replace path and with Sync.
func TestKeepMtimeNanoseconds(t *testing.T) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		do   func(r *Root) error
	}{
		{"WriteFile", func(r *Root) error {
			return r.WriteFile(context.Background(), "m", []byte("new"), 0o644, KeepMtime())
		}},
		{"Create+Sync+Commit", func(r *Root) error {
			f, err := r.Create(context.Background(), "m", 0o644, KeepMtime())
			if err != nil {
				return err
			}
			f.Write([]byte("new"))
			if err := f.Sync(); err != nil {
				f.Abort()
				return err
			}
			return f.Commit(context.Background())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			p := filepath.Join(dir, "m")
			mustWrite(t, p, "old", 0o644)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(p); !fi.ModTime().Equal(old) {
				t.Skipf("filesystem keeps mtime %v for %v", fi.ModTime(), old)
			}
			if err := tc.do(r); err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(p)
			if !fi.ModTime().Equal(old) {
				t.Errorf("KeepMtime: mtime %v; want %v (the replaced file's, unchanged)", fi.ModTime().UTC().Format(time.RFC3339Nano), old.Format(time.RFC3339Nano))
			}
		})
	}
}
