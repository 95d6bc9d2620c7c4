package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestTimeoutDeadline: --timeout is a deadline on ctx until acquired (the
// coordinator bounds its waits by ctx.Deadline); acquired lifts it, so the
// work after it (the user's command) outlives --timeout; when the deadline
// passed before acquired, the result is the timeout (exit 3), not the
// command's failure (exit 8).
func TestTimeoutDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	g := &globals{root: t.TempDir(), leaseTTL: defaultLeaseTTL, timeout: timeout, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}

	t.Run("deadline-until-acquired", func(t *testing.T) {
		start := time.Now()
		err := g.withVolume(context.Background(), "test", func(ctx context.Context, _ *volume, acquired func()) error {
			dl, ok := ctx.Deadline()
			if !ok {
				t.Errorf("ctx.Deadline before acquired: none; want one")
			} else if dl.Before(start) || dl.After(start.Add(timeout+time.Second)) {
				t.Errorf("ctx.Deadline = %v after start; want about %v", dl.Sub(start), timeout)
			}
			acquired()
			if _, ok := ctx.Deadline(); ok {
				t.Errorf("ctx.Deadline after acquired: set; want none")
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(3 * timeout):
				return nil
			}
		})
		if err != nil {
			t.Errorf("work past --timeout after acquired: %v; want nil", err)
		}
	})

	t.Run("no-acquired", func(t *testing.T) {
		err := g.withVolume(context.Background(), "test", func(ctx context.Context, _ *volume, _ func()) error {
			<-ctx.Done()
			return ctx.Err()
		})
		if got := exitCode(err); got != exitNotObtained {
			t.Errorf("exit %d (%v); want %d", got, err, exitNotObtained)
		}
	})

	t.Run("deadline-passed-before-acquired", func(t *testing.T) {
		err := g.withVolume(context.Background(), "test", func(ctx context.Context, _ *volume, acquired func()) error {
			<-ctx.Done()
			acquired()
			return newCommandFailed("k", -1, errors.New("run: context canceled"))
		})
		if got := exitCode(err); got != exitNotObtained {
			t.Errorf("exit %d (%v); want %d", got, err, exitNotObtained)
		}
	})
}
