//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A reader that may not write (here: a read-only mount of the volume) cannot
// settle a leftover in-place rewrite; it is given the version settling would
// leave, and nothing on the volume changes.
func TestReadOnlyReaderOfUnsettledInPlace(t *testing.T) {
	oldData, newData := []byte("old content"), []byte("new content")
	for _, tc := range []struct {
		name, target, want string
	}{
		{"torn target: the backup's old version", "new conte", string(oldData)},
		{"target already new", string(newData), string(newData)},
		{"target still old", string(oldData), string(oldData)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "f")
			plantInPlace(t, nil, dir, "f", oldData, newData, []byte(tc.target), nil)
			mRel, _ := inPlaceNames("f")

			ro := t.TempDir()
			testrig.ReadOnlyBind(t, dir, ro)
			r, err := Open(ro)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.ReadFile(context.Background(), "f")
			if err != nil {
				t.Fatalf("ReadFile through a read-only mount: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("ReadFile = %q; want %q", got, tc.want)
			}
			if s := readString(t, target); s != tc.target {
				t.Errorf("target changed to %q", s)
			}
			if _, err := os.Lstat(filepath.Join(dir, mRel)); err != nil {
				t.Errorf("marker: %v; want it left for a writer", err)
			}
		})
	}
}
