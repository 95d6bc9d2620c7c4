package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// An Append made with the context of a Lock on the log's own key, or of the
// function of an UpdateContext on it, is refused at once (EDEADLK), nothing
// written: the Appender commits under its own lease, which would wait for
// that Lock or Update until the batch timed out (before, the UpdateContext
// case waited so). After it, the same Appender appends.
func TestAppendInsideLockRefused(t *testing.T) {
	for _, m := range modes {
		for _, holder := range []string{"Lock", "UpdateContext"} {
			t.Run(string(m)+"/"+holder, func(t *testing.T) { appendInsideHolder(t, m, holder) })
		}
	}
}

func appendInsideHolder(t *testing.T, m mode, holder string) {
	root := t.TempDir()
	c := open(t, m, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log", BatchTimeout(10*time.Second))
	defer a.Close()
	var appendErr error
	var took time.Duration
	try := func(ctx context.Context) {
		start := time.Now()
		appendErr = a.Append(ctx, []byte("in lock\n"))
		took = time.Since(start)
	}
	var err error
	if holder == "Lock" {
		err = c.Lock(ctx, "app.log", func(ctx context.Context, _ LeaseInfo) error { try(ctx); return nil })
	} else {
		stop := errors.New("nothing to commit")
		err = c.UpdateContext(ctx, "app.log", func(ctx context.Context, _ []byte, _ bool) ([]byte, error) { try(ctx); return nil, stop })
		if errors.Is(err, stop) {
			err = nil
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", holder, err)
	}
	if !errors.Is(appendErr, syscall.EDEADLK) || took > 2*time.Second {
		t.Fatalf("Append with %s's context = %v after %v; want EDEADLK at once", holder, appendErr, took)
	}
	if _, err := os.Lstat(filepath.Join(root, "app.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("app.log after the refused Append: %v; want nothing written", err)
	}
	if err := a.Append(ctx, []byte("after\n")); err != nil {
		t.Fatalf("Append after the Lock: %v", err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "after\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}
