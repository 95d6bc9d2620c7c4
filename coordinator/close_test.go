package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// hubReaders counts the goroutines reading a Redis locker's pub/sub
// connection.
func hubReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "wakeHub).receive")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestCloseStopsLockerPubSub: Close of a coordinator opened with the caller's
// Redis client closes the locker's pub/sub connection and stops its reader
// (a contended acquire starts them), and leaves the caller's client usable.
func TestCloseStopsLockerPubSub(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	holder := open(t, rds, root)
	cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	c, err := Open(context.Background(), root, WithRedis(cl))
	if err != nil {
		t.Fatal(err)
	}
	before := hubReaders()
	ctx := ctxT(t, time.Minute)
	err = holder.Lock(ctx, "k", func(context.Context, LeaseInfo) error {
		wctx, cancel := context.WithTimeout(ctx, notObtainedWait(rds))
		defer cancel()
		return c.WriteFile(wctx, "k", []byte("x"), 0o644)
	})
	if ExitCode(err) != ExitNotObtained {
		t.Fatalf("contended write: got %v; want not obtained", err)
	}
	if got := hubReaders(); got <= before {
		t.Fatalf("pub/sub readers after a contended acquire: %d; want more than %d", got, before)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for hubReaders() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := hubReaders(); got > before {
		t.Errorf("pub/sub readers 10s after Close: %d; want %d", got, before)
	}
	if err := cl.Ping(ctx).Err(); err != nil && !errors.Is(err, redis.ErrClosed) {
		t.Errorf("caller's client after Close: %v", err)
	} else if err != nil {
		t.Errorf("caller's client was closed by Close: %v", err)
	}
}

// TestCloseDuringWrite: Close at any moment of a running WriteFile. The
// write's result tells the truth about the file (nil or durability
// unconfirmed: the new content; any other error: the old), it has returned
// by the time Close returns, and no temp is left.
func TestCloseDuringWrite(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			rounds := 150
			if testing.Short() {
				rounds = 30
			}
			// Calibrate the moments of Close to a write's duration here.
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 2*time.Minute)
			start := time.Now()
			for i := range 20 {
				if err := c.WriteFile(ctx, "f", []byte(strconv.Itoa(i)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			span := time.Since(start) / 20
			var committed, aborted int
			for i := range rounds {
				root := t.TempDir()
				mustWrite(t, filepath.Join(root, "f"), "old")
				c := open(t, m, root)
				done := make(chan error, 1)
				go func() { done <- c.WriteFile(ctx, "f", []byte("new"), 0o644) }()
				time.Sleep(time.Duration(rand.Int64N(int64(span))))
				if err := c.Close(); err != nil {
					t.Fatalf("round %d: Close: %v", i, err)
				}
				var err error
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					// Close returns once the operation is done with the
					// handles; its return follows at once.
					t.Fatalf("round %d: WriteFile still running 5s after Close returned", i)
				}
				got := readFile(t, filepath.Join(root, "f"))
				switch {
				case got == "new" && (err == nil || errors.Is(err, ErrDurabilityUnconfirmed)):
					committed++
				case got == "old" && err != nil && !errors.Is(err, ErrDurabilityUnconfirmed):
					aborted++
					if !errors.Is(err, ErrClosed) {
						t.Errorf("round %d: not committed with %v; want ErrClosed", i, err)
					}
				default:
					t.Fatalf("round %d: file holds %q, WriteFile returned %v", i, got, err)
				}
				if temps := tempsIn(t, root); len(temps) > 0 {
					t.Fatalf("round %d: temps left: %q", i, temps)
				}
			}
			t.Logf("%d rounds over %v: %d committed, %d not", rounds, span, committed, aborted)
			if committed == 0 || aborted == 0 {
				t.Errorf("Close fell only on one side of the commit (%d committed, %d not): the moments do not cover the write", committed, aborted)
			}
		})
	}
}

// tempsIn lists the writer's temps in dir.
func tempsIn(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".tmp") {
			temps = append(temps, e.Name())
		}
	}
	return temps
}

// TestCloseEndsWaitingOperation: an operation waiting for a key another
// coordinator holds ends with ErrClosed when its coordinator is closed,
// long before its own deadline, and Close does not wait for that deadline.
func TestCloseEndsWaitingOperation(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			holder := open(t, m, root)
			holdKey(t, holder, "k")
			c := open(t, m, root)
			done := make(chan error, 1)
			go func() { done <- c.WriteFile(ctxT(t, 2*time.Minute), "k", []byte("x"), 0o644) }()
			time.Sleep(200 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("WriteFile returned %v while the key was held", err)
			default:
			}
			closeWithin(t, c, "Close did not return within 20s while an operation waited for a key")
			endsWithClosed(t, "waiting WriteFile", done)
			if _, err := os.Stat(filepath.Join(root, "k")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("k after the closed write: %v; want it absent", err)
			}
		})
	}
}

// TestCloseWithOpenFile: Close does not wait for a streaming File the caller
// still has open; the File's writes and Commit then fail with ErrClosed,
// nothing becomes visible, the temp is removed and the key is free for
// another coordinator at once.
func TestCloseWithOpenFile(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			f, err := c.Create(ctx, "s", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("part")); err != nil {
				t.Fatal(err)
			}
			closeWithin(t, c, "Close waited for an open File")
			if _, err := f.Write([]byte("more")); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Close: %v; want ErrClosed", err)
			}
			if err := f.Commit(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Commit after Close: %v; want ErrClosed", err)
			}
			if _, err := os.Stat(filepath.Join(root, "s")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("s after the closed File: %v; want it absent", err)
			}
			if temps := tempsIn(t, root); len(temps) > 0 {
				t.Errorf("temps left: %q", temps)
			}
			other := open(t, m, root)
			if err := other.WriteFile(ctxT(t, 2*time.Second), "s", []byte("other"), 0o644); err != nil {
				t.Errorf("another coordinator's write after the closed File: %v", err)
			}
		})
	}
}

// TestCloseEndsLockAndWatch: Close cancels the context of a Lock function
// and of a Watch with cause ErrClosed, and returns once they have returned.
func TestCloseEndsLockAndWatch(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, time.Minute)
			inLock := make(chan struct{})
			var lockCause error
			locked := make(chan error, 1)
			go func() {
				locked <- c.Lock(ctx, "k", func(ctx context.Context, _ LeaseInfo) error {
					close(inLock)
					<-ctx.Done()
					lockCause = context.Cause(ctx)
					return ctx.Err()
				})
			}()
			watching := make(chan struct{})
			watched := make(chan error, 1)
			go func() {
				watched <- c.Watch(ctx, "w", func(context.Context, Change) error { return nil },
					watchStarted(func() { close(watching) }))
			}()
			for _, ch := range []chan struct{}{inLock, watching} {
				select {
				case <-ch:
				case <-time.After(20 * time.Second):
					t.Fatal("Lock or Watch did not start")
				}
			}
			closeWithin(t, c, "Close did not return within 20s")
			for what, ch := range map[string]chan error{"Lock": locked, "Watch": watched} {
				select {
				case err := <-ch:
					if !errors.Is(err, ErrClosed) && !(what == "Lock" && errors.Is(err, context.Canceled)) {
						t.Errorf("%s after Close: %v; want ErrClosed", what, err)
					}
				case <-time.After(5 * time.Second):
					t.Errorf("%s still running 5s after Close returned", what)
				}
			}
			if !errors.Is(lockCause, ErrClosed) {
				t.Errorf("cause seen by the Lock function: %v; want ErrClosed", lockCause)
			}
		})
	}
}

// closeWithin closes c and fails the test with why unless Close returns
// within 20 s.
func closeWithin(t *testing.T, c *Coordinator, why string) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal(why)
	}
}

// TestCloseTwice: two Close calls at once both return when the operations
// have ended and the handles are closed, with the same result.
func TestCloseTwice(t *testing.T) {
	c := open(t, local, t.TempDir())
	inLock := make(chan struct{})
	locked := make(chan error, 1)
	go func() {
		locked <- c.Lock(ctxT(t, time.Minute), "k", func(ctx context.Context, _ LeaseInfo) error {
			close(inLock)
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond) // the function is slow to return
			return nil
		})
	}()
	<-inLock
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- c.Close() }()
	}
	for range 2 {
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
			if _, err := c.Writer().OS().Stat("."); err == nil {
				t.Error("a Close returned while the root was still open")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Close did not return within 20s")
		}
	}
	if err := <-locked; err != nil {
		t.Errorf("Lock: %v", err)
	}
}

// TestCloseDuringStaleViewRead: a read that is waiting out the stale-view
// window for the file to match its record ends with ErrClosed when the
// coordinator is closed; it does not adopt the mismatching content as an
// edit made outside sharedwrite.
func TestCloseDuringStaleViewRead(t *testing.T) {
	c := editedOutside(t, time.Minute)
	read := make(chan error, 1)
	go func() {
		_, err := c.ReadFile(context.Background(), "f") // no deadline: the whole window
		read <- err
	}()
	time.Sleep(300 * time.Millisecond)
	closeWithin(t, c, "Close did not return within 20s while a read waited out the window")
	endsWithClosed(t, "ReadFile", read)
}

// TestCloseClosesAppenders: Close stops the goroutine of an Appender the
// caller did not close; Appends then fail, and an Appender made after Close
// refuses records.
func TestCloseClosesAppenders(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, time.Minute)
			a := c.Appender("log")
			if err := a.Append(ctx, []byte("one\n")); err != nil {
				t.Fatal(err)
			}
			closeWithin(t, c, "Close did not return within 20s with an open Appender")
			select {
			case <-a.done:
			case <-time.After(5 * time.Second):
				t.Fatal("the Appender's goroutine still runs 5s after Close returned")
			}
			if err := a.Append(ctx, []byte("two\n")); err == nil {
				t.Error("Append after Close: nil")
			}
			late := c.Appender("log")
			if err := late.Append(ctx, []byte("three\n")); !errors.Is(err, ErrAppenderClosed) {
				t.Errorf("Append to an Appender made after Close: %v; want ErrAppenderClosed", err)
			}
			late.Close()
		})
	}
}

// endsWithClosed waits up to 5 s for the result of what, an operation that
// Close ended, and checks that it is ErrClosed.
func endsWithClosed(t *testing.T, what string, result <-chan error) {
	t.Helper()
	select {
	case err := <-result:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still running 5s after Close returned", what)
	}
}
