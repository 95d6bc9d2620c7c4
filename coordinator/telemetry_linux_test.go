//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A move from a spool on another device (tmpfs) falls back to a hashed copy;
// the span says so and the fallback is counted.
func TestTelemetryExdevMove(t *testing.T) {
	spool := testrig.Tmpfs(t, "1m")
	root := t.TempDir()
	tr := newTelRig(t)
	c := open(t, local, root, tr.opts()...)
	ctx := ctxT(t, 30*time.Second)
	src := filepath.Join(spool, "upload")
	mustWrite(t, src, "spooled content")
	if err := c.Move(ctx, src, "in/upload"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "in/upload")); got != "spooled content" {
		t.Fatalf("moved file = %q", got)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("source after move: %v; want gone", err)
	}
	if got := tr.counter(t, MetricExdev); got != 1 {
		t.Fatalf("%s = %d; want 1", MetricExdev, got)
	}
	ops := tr.named("sharedwrite.move")
	if len(ops) != 1 {
		t.Fatalf("%d move spans; want 1", len(ops))
	}
	if v, _ := attr(ops[0], string(AttrExdev)); v != "true" {
		t.Fatalf("move span %s = %q; want true", AttrExdev, v)
	}
	if len(tr.named("exdev-fallback")) != 1 {
		t.Fatal("no exdev-fallback child span")
	}
	// The record describes what was moved: a fresh read matches it.
	rec, err := c.peekRecord("in/upload")
	if err != nil {
		t.Fatal(err)
	}
	if _, v, err := c.freshRead(ctx, "in/upload", rec, false, 0); err != nil || v == nil {
		t.Fatalf("fresh read after move: matched %v, %v; want the committed version", v != nil, err)
	}
}

// A move inside the root leases both keys; the source's record says deleted.
func TestMoveInsideRoot(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "a", []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Move(ctx, filepath.Join(root, "a"), "b"); err != nil {
		t.Fatal(err)
	}
	ra, err := c.peekRecord("a")
	if err != nil || !ra.Committed.Deleted {
		t.Fatalf("record of a: %+v, %v; want deleted", ra.Committed, err)
	}
	rb, err := c.peekRecord("b")
	if err != nil || rb.Committed.Size != 7 {
		t.Fatalf("record of b: %+v, %v; want size 7", rb.Committed, err)
	}
	if err := c.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("b after Remove: %v", err)
	}
	if rb, _ := c.peekRecord("b"); !rb.Committed.Deleted {
		t.Fatalf("record of b after Remove: %+v; want deleted", rb.Committed)
	}
	if _, err := c.ReadFile(ctx, "b"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of removed b = %v; want not exist", err)
	}
}

// A committed write whose temp lives on another device (WithTempDir on a
// tmpfs inside the root) falls back to a copy: nothing is rolled back, so the
// rollbacks counter stays 0 and the span has no rollback attribute.
func TestTelemetryExdevCommitIsNoRollback(t *testing.T) {
	root := t.TempDir()
	spool := filepath.Join(root, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	testrig.NeedRoot(t)
	mnt := testrig.Tmpfs(t, "1m")
	testrig.BindMount(t, mnt, spool)
	tr := newTelRig(t)
	c := open(t, local, root, append(tr.opts(), WithTempDir("spool"))...)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "f")); got != "hello" {
		t.Fatalf("f = %q", got)
	}
	if got := tr.counter(t, MetricExdev); got != 1 {
		t.Fatalf("%s = %d; want 1 (the EXDEV path was taken)", MetricExdev, got)
	}
	ops := tr.named("sharedwrite.write")
	if len(ops) != 1 {
		t.Fatalf("%d write spans", len(ops))
	}
	out, _ := attr(ops[0], string(AttrOutcome))
	rb, rbSet := attr(ops[0], string(AttrRollback))
	if got := tr.counter(t, MetricRollbacks); got != 0 || rbSet {
		t.Fatalf("committed write (outcome %q): %s = %d, span %s = %q (set %v); want 0 and unset: nothing was rolled back",
			out, MetricRollbacks, got, AttrRollback, rb, rbSet)
	}
}
