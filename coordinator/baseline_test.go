package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// killAtSpanEnd is a tracer provider that SIGKILLs the process when the first
// span named name ends.
func killAtSpanEnd(name string) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(spanKiller(name)))
}

type spanKiller string

func (k spanKiller) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (k spanKiller) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == string(k) {
		killSelf()
		time.Sleep(time.Hour)
	}
}
func (k spanKiller) Shutdown(context.Context) error   { return nil }
func (k spanKiller) ForceFlush(context.Context) error { return nil }

// crashAtCommit runs op (init or write) of name in a child process killed
// right after its floor and pending were written, before its rename.
func crashAtCommit(t *testing.T, m mode, root, op, name string) {
	t.Helper()
	env := []string{"SW_ROOT=" + root, "SW_OP=" + op, "SW_NAME=" + name}
	if m == rds {
		env = append(env, "SW_REDIS="+needRedis(t).URL(), "SW_TTL=1s")
	}
	if s := exitStatus(child(t, "crash-at-commit", env...).Run()); s != -1 {
		t.Fatalf("the %s child exited %d; want it killed at its commit", op, s)
	}
}

// TestBaselineAfterCrashedFirstCommit: a key's first commit killed after its
// pending version was written, before its rename (an InitOnce of a config, a
// first write over a file sharedwrite never wrote). The file as it was is not
// a stale view: a reader gets it at once (ENOENT, or the old content) instead
// of waiting out the stale-view window, Strict accepts it, and the next
// InitOnce generates. Without the baseline the record held only the pending
// version, which nothing on the volume matched.
func TestBaselineAfterCrashedFirstCommit(t *testing.T) {
	for _, m := range modes {
		for _, tc := range []struct {
			op, old string // old: the file's content before ("": absent)
		}{{"init", ""}, {"write", ""}, {"write", "made outside\n"}} {
			t.Run(string(m)+"/"+tc.op+"/existing="+map[bool]string{true: "yes", false: "no"}[tc.old != ""], func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root, Strict())
				path := filepath.Join(root, "cfg")
				if tc.old != "" {
					if err := os.WriteFile(path, []byte(tc.old), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				crashAtCommit(t, m, root, tc.op, "cfg")
				waiting := open(t, m, root, WithStaleWindow(time.Minute))
				ctx := ctxT(t, 20*time.Second)
				start := time.Now()
				data, err := waiting.ReadFile(ctx, "cfg")
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("ReadFile took %v with a one-minute stale-view window; want the file as it was at once", took.Round(time.Millisecond))
				}
				if tc.old == "" && !errors.Is(err, syscall.ENOENT) || tc.old != "" && (err != nil || string(data) != tc.old) {
					t.Errorf("ReadFile after the crashed commit = %q, %v; want the file as it was (%q, absent if empty)", data, err, tc.old)
				}
				if _, err := c.ReadFile(ctx, "cfg"); tc.old == "" && !errors.Is(err, syscall.ENOENT) || tc.old != "" && err != nil {
					t.Errorf("strict ReadFile after the crashed commit = %v", err)
				}
				if tc.old == "" {
					data, err = c.InitOnce(ctx, "cfg", func(context.Context) ([]byte, error) { return []byte("second"), nil })
					if err != nil || string(data) != "second" {
						t.Errorf("strict InitOnce after the crashed commit = %q, %v; want it to generate \"second\"", data, err)
					}
				}
			})
		}
	}
}

// TestBaselineTxFailedBeforeCommitPoint: a transaction of new files that
// fails before its commit point (no crash) leaves their pending versions;
// the files, never created, read as absent at once and update at once.
func TestBaselineTxFailedBeforeCommitPoint(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(time.Minute))
	boom := errors.New("boom")
	txBeforeIntent = func() error { return boom }
	t.Cleanup(func() { txBeforeIntent = nil })
	ctx := ctxT(t, 20*time.Second)
	if err := c.Tx(ctx, namedTxFiles("new", "fresh1", "fresh2")); !errors.Is(err, boom) {
		t.Fatalf("Tx = %v; want boom", err)
	}
	txBeforeIntent = nil
	start := time.Now()
	if _, err := c.ReadFile(ctx, "fresh1"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("ReadFile of a file the failed Tx never created = %v; want ENOENT", err)
	}
	if err := c.Update(ctx, "fresh2", func([]byte, bool) ([]byte, error) { return []byte("upd"), nil }); err != nil {
		t.Errorf("Update of a file the failed Tx never created = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the read and the update took %v with a one-minute stale-view window; want them at once", took.Round(time.Millisecond))
	}
}
