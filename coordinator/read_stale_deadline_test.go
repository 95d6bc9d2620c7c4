package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestReadFileWindowCutByDeadlineIsATimeout: a file that matches no recorded
// version while the caller's deadline leaves only part of the stale-view
// window may still be a lagging cache; the read gives up as out of time
// (context.DeadlineExceeded, ExitCode 3), still saying ErrStaleView, and
// returns nothing.
func TestReadFileWindowCutByDeadlineIsATimeout(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(20*time.Second))
	if err := c.WriteFile(ctxT(t, 10*time.Second), "f", []byte("recorded"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "f"), "unrecorded")

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	data, err := c.ReadFile(ctx, "f")
	if !errors.Is(err, ErrStaleView) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadFile with a deadline inside the window = %v; want ErrStaleView and context.DeadlineExceeded", err)
	}
	if got := ExitCode(err); got != ExitNotObtained {
		t.Errorf("ExitCode(%v) = %d; want %d", err, got, ExitNotObtained)
	}
	if data != nil {
		t.Errorf("ReadFile returned %q with its error; want nothing", data)
	}
}
