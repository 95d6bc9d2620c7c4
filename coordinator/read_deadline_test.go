package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A file that matches no recorded version is adopted as edited outside
// sharedwrite only after the whole stale-view window: when the caller's
// deadline cuts the window short, the mismatch may still be a stale cache, so
// nothing is computed from it.
func TestFreshReadDeadlineShorterThanWindowNeverAdopts(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(20*time.Second))
	if err := c.WriteFile(ctxT(t, 10*time.Second), "f", []byte("recorded"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "f"), "unrecorded") // what a stale cache could show too

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	called := false
	err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) {
		called = true
		return append(old, "+1"...), nil
	})
	if !errors.Is(err, ErrStaleView) {
		t.Errorf("Update with a deadline inside the stale-view window = %v; want ErrStaleView", err)
	}
	if called {
		t.Errorf("Update computed from a read that matched no recorded version before its window ended")
	}
	if got := readFile(t, filepath.Join(root, "f")); got != "unrecorded" {
		t.Errorf("f = %q; want unrecorded (nothing committed)", got)
	}
	if _, err := c.ReadFile(ctxT(t, time.Second), "f"); !errors.Is(err, ErrStaleView) {
		t.Errorf("ReadFile with a deadline inside the stale-view window = %v; want ErrStaleView", err)
	}
}
