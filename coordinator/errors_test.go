package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// notObtainedWait is the deadline of a wait for a key held throughout, when
// the test expects ErrNotObtained. In Redis mode it must outlast the first
// acquire round trip on a loaded machine: a deadline that cuts that off is
// ErrUnavailable (Redis never answered), not ErrNotObtained. A local wait has
// no round trip.
func notObtainedWait(m mode) time.Duration {
	if m == rds {
		return 2 * time.Second
	}
	return 300 * time.Millisecond
}

// A wait that times out while another holder has the key is exit 3 and names
// the holder.
func TestNotObtainedNamesHolder(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			holder := open(t, m, root)
			waiter := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			release := holdKey(t, holder, "busy")
			wait := notObtainedWait(m)
			short, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			start := time.Now()
			err := waiter.WriteFile(short, "busy", []byte("x"), 0o644)
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(err, ErrNotObtained) || ExitCode(err) != ExitNotObtained {
				t.Fatalf("WriteFile = %v (exit %d); want ErrNotObtained, exit 3", err, ExitCode(err))
			}
			if el := time.Since(start); el > wait+5*time.Second {
				t.Fatalf("the wait took %v past a %v deadline", el, wait)
			}
			pid := strconv.Itoa(os.Getpid())
			if !strings.Contains(err.Error(), pid) || !strings.Contains(err.Error(), `"busy"`) {
				t.Fatalf("error %q does not name the key and the holder (pid %s)", err, pid)
			}
		})
	}
}

// A deadline that passes while Redis refuses connections is exit 6.
func TestRedisUnreachable(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	r, root, cl := ownRedisVolume(t, ctx)
	r.Kill()
	c, err := Open(ctx, root, WithRedisURL(r.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = c.WriteFile(short, "f", []byte("x"), 0o644)
	if ExitCode(err) != ExitUnavailable {
		t.Fatalf("WriteFile = %v (exit %d); want exit 6", err, ExitCode(err))
	}
	if _, err := InitVolume(short, t.TempDir(), cl); ExitCode(err) != ExitUnavailable {
		t.Fatalf("InitVolume = %v (exit %d); want exit 6", err, ExitCode(err))
	}
	if _, err := os.Stat(filepath.Join(root, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("f: %v; want nothing written", err)
	}
}

// A lease lost between the temp and the commit (its Redis key deleted, as a
// takeover would) rolls everything back: no target, no temp, no directory the
// write created; the loss is counted and is exit 4.
func TestLeaseLostRollsBack(t *testing.T) {
	root := t.TempDir()
	tr, c, f, ctx := tracedCreate(t, root, "n1/n2/f")
	if _, err := f.Write([]byte("doomed")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "n1/n2")); err != nil {
		t.Fatalf("parent directories not created for the temp: %v", err)
	}
	if err := loseLease(ctx, c, f); err != nil {
		t.Fatal(err)
	}
	err := f.Commit(ctx)
	if !errors.Is(err, ErrLeaseLost) || ExitCode(err) != ExitLeaseLost {
		t.Fatalf("Commit = %v (exit %d); want ErrLeaseLost, exit 4", err, ExitCode(err))
	}
	if _, err := os.Stat(filepath.Join(root, "n1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("n1 after the rollback: %v; want removed", err)
	}
	if got := tr.counter(t, MetricLeaseLost); got != 1 {
		t.Fatalf("%s = %d; want 1", MetricLeaseLost, got)
	}
	if got := tr.counter(t, MetricRollbacks); got < 1 {
		t.Fatalf("%s = %d; want at least 1", MetricRollbacks, got)
	}
	ops := tr.named("sharedwrite.create")
	if len(ops) != 1 {
		t.Fatalf("%d create spans; want 1", len(ops))
	}
	if o, _ := attr(ops[0], string(AttrOutcome)); o != OutcomeNotCommitted {
		t.Fatalf("outcome %q; want %q", o, OutcomeNotCommitted)
	}
}

// A WriteFile whose floor and pending write was started early (on a volume
// whose record fsyncs are slow) and refused names the step and the path, as
// the same refusal through the writer's pre-commit hook does. It came back as
// the bare lease error.
func TestEarlyWriteRefusalNamesStepAndPath(t *testing.T) {
	for _, early := range []bool{false, true} {
		t.Run(map[bool]string{false: "hook", true: "early"}[early], func(t *testing.T) {
			// A commit margin just below the TTL: the commit check refuses.
			c := open(t, rds, t.TempDir(), WithLeaseTTL(time.Second), WithCommitMargin(time.Second-time.Microsecond))
			if early {
				c.recordSync.Store(int64(time.Millisecond))
			}
			err := c.WriteFile(ctxT(t, 10*time.Second), "file.txt", []byte("x"), 0o644)
			var ce *Error
			if !errors.Is(err, ErrLeaseLost) || !errors.As(err, &ce) || !strings.Contains(err.Error(), `write "file.txt"`) {
				t.Errorf("WriteFile = %v; want ErrLeaseLost in a *coordinator.Error naming the step and the path", err)
			}
		})
	}
}
