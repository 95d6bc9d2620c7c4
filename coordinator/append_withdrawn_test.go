package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An Append whose deadline passes while its batch waits for the key says what
// the wait was for, as the other operations do: Redis not answering (exit 6),
// or the key's holder (exit 3, naming it); not a bare "context deadline
// exceeded". Its record is not committed, and the appender goes on.
func TestAppendDeadlineSaysWhatTheBatchWaitedFor(t *testing.T) {
	t.Run("redis unreachable", func(t *testing.T) {
		ctx := ctxT(t, 30*time.Second)
		r, root, _ := ownRedisVolume(t, ctx)
		c, err := Open(ctx, root, WithRedisURL(r.URL()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a := c.Appender("log")
		defer a.Close()
		if err := a.Append(ctx, []byte("one\n")); err != nil {
			t.Fatal(err)
		}
		r.Kill()
		short, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = a.Append(short, []byte("two\n"))
		took := time.Since(start)
		if ExitCode(err) != ExitUnavailable || !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Append with Redis down = %v (exit %d); want ErrUnavailable, the deadline, exit 6", err, ExitCode(err))
		}
		if !strings.Contains(err.Error(), `lease "log"`) {
			t.Fatalf("Append error %q does not name the step and key", err)
		}
		if took > 700*time.Millisecond+2*time.Second {
			t.Fatalf("Append returned after %v; want its deadline plus a margin", took)
		}
		if err := r.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := a.Append(ctx, []byte("three\n")); err != nil {
			t.Fatalf("Append after Redis came back: %v", err)
		}
		if got, _ := os.ReadFile(filepath.Join(root, "log")); string(got) != "one\nthree\n" {
			t.Fatalf("log = %q; want the withdrawn record absent", got)
		}
	})
	t.Run("held by another", func(t *testing.T) {
		for _, m := range []mode{local, rds} {
			t.Run(string(m), func(t *testing.T) {
				root := t.TempDir()
				ctx := ctxT(t, 30*time.Second)
				c := open(t, m, root)
				holder := open(t, m, root)
				a := c.Appender("log")
				defer a.Close()
				locked, release := make(chan struct{}), make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- holder.Lock(ctx, "log", func(context.Context, LeaseInfo) error {
						close(locked)
						<-release
						return nil
					})
				}()
				<-locked
				short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				err := a.Append(short, []byte("late\n"))
				close(release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if ExitCode(err) != ExitNotObtained || !errors.Is(err, ErrNotObtained) {
					t.Fatalf("Append while another holds the key = %v (exit %d); want ErrNotObtained, exit 3", err, ExitCode(err))
				}
				if err := a.Append(ctx, []byte("next\n")); err != nil {
					t.Fatalf("Append after the holder left: %v", err)
				}
				if got, _ := os.ReadFile(filepath.Join(root, "log")); string(got) != "next\n" {
					t.Fatalf("log = %q; want only the record appended after", got)
				}
			})
		}
	})
}
