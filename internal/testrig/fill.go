package testrig

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Fill writes the file dir/filler until dir's filesystem is full (ENOSPC),
// then frees leave pages (4 KiB) of it again, and returns its path. It is
// removed on cleanup.
func Fill(t testing.TB, dir string, leave int) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Cleanup(func() { os.Remove(p) })
	buf := make([]byte, 4096)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatalf("filler: %v", err)
		}
	}
	if leave > 0 {
		if err := f.Truncate(max(0, n-n%4096-int64(leave)*4096)); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
