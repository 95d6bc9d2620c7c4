//go:build linux

package writer

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestInPlaceModeAndMtime: the in-place rewrite applies Mode and
// KeepMtime as the rename path does.
func TestInPlaceModeAndMtime(t *testing.T) {
	r, _, source := busyRig(t, "old")
	old := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	if err := os.Chtimes(source, old, old); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(context.Background(), "mounted", []byte("new"), 0o600, InPlaceIfBusy(), Mode(0o604), KeepMtime()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(source)
	if fi.Mode().Perm() != 0o604 {
		t.Errorf("mode %v; want -rw----r--", fi.Mode().Perm())
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("mtime %v; want %v", fi.ModTime(), old)
	}
	if got := readString(t, source); got != "new" {
		t.Errorf("content %q", got)
	}
}
