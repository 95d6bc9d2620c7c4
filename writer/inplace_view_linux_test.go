//go:build linux

package writer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
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

// A reader that may not settle a leftover in-place rewrite is bounded by
// MaxReadSize too: the backup it would be given (larger than the limit) is
// refused by its size, before it is read into memory.
func TestReadOnlyReaderOfUnsettledInPlaceBounded(t *testing.T) {
	const size = 64 << 20
	oldData := bytes.Repeat([]byte("o"), size)
	newData := bytes.Repeat([]byte("n"), size)
	dir := t.TempDir()
	plantInPlace(t, nil, dir, "f", oldData, newData, newData[:size/2], nil)

	ro := t.TempDir()
	testrig.ReadOnlyBind(t, dir, ro)
	r, err := Open(ro)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = r.ReadFile(context.Background(), "f", MaxReadSize(1<<20))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("ReadFile with a 1 MiB limit of a 64 MiB version = %v; want ErrTooLarge and EFBIG", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("the refused read allocated %d bytes; want it refused before the file is read", got)
	}
}
