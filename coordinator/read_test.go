package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A read that first sees an older file (a stale cache on another host) is
// retried through the stale-view window until it sees the committed version;
// it never computes from the stale content.
func TestFreshReadRetriesStaleView(t *testing.T) {
	root := t.TempDir()
	tr := newTelRig(t)
	c := open(t, local, root, append(tr.opts(), WithStaleWindow(10*time.Second))...)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "f")
	mustWrite(t, p, "v0") // what a stale cache would still serve
	type result struct {
		seen string
		err  error
	}
	before := tr.counter(t, MetricStaleRetried)
	updated := make(chan result, 1)
	go func() {
		var seen string
		err := c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) { seen = string(old); return []byte("v2"), nil })
		updated <- result{seen, err}
	}()
	// The cache catches up only once Update has read the stale file again (a
	// retry): restoring earlier could let its first read see v1 already. An
	// Update that does not retry returns first (within the window, with the
	// stale content adopted or an error), which fails the test here.
	for tr.counter(t, MetricStaleRetried) <= before {
		select {
		case r := <-updated:
			t.Fatalf("Update = %v (computed from %q) without retrying its read of the stale file", r.err, r.seen)
		case <-ctx.Done():
			t.Fatal("Update neither retried its read of the stale file nor returned")
		case <-time.After(5 * time.Millisecond):
		}
	}
	tmp := p + ".restore"
	if err := os.WriteFile(tmp, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil { // the cache catches up
		t.Fatal(err)
	}
	r := <-updated
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.seen != "v1" {
		t.Fatalf("Update computed from %q; want v1", r.seen)
	}
	if got := tr.counter(t, MetricOutsideEdits); got != 0 {
		t.Fatalf("%s = %d; want 0", MetricOutsideEdits, got)
	}
}

// The stale-view window never runs past the caller's deadline.
func TestFreshReadWindowBoundedByDeadline(t *testing.T) {
	c := editedOutside(t, time.Hour)
	ctx := ctxT(t, 30*time.Second)
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	var seen string
	err := c.Update(short, "f", func(old []byte, _ bool) ([]byte, error) { seen = string(old); return old, nil })
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("Update took %v with a 1s deadline", el)
	}
	// The deadline cut the window short, so the mismatch may still be a stale
	// cache: it is not adopted (TestFreshReadDeadlineShorterThanWindowNeverAdopts).
	if !errors.Is(err, ErrStaleView) || seen != "" {
		t.Fatalf("Update = %v, read %q; want ErrStaleView and nothing computed", err, seen)
	}
}

// A file created by someone who does not share our locks between our check
// and our commit wins: InitOnce returns it and never replaces it.
func TestInitOnceCreateOnlyNeverReplaces(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	got, err := c.InitOnce(ctx, "cfg", func(context.Context) ([]byte, error) {
		mustWrite(t, filepath.Join(root, "cfg"), "the other host's") // lands first
		return []byte("ours"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "the other host's" {
		t.Fatalf("InitOnce returned %q; want the winner's content", got)
	}
	if on := readFile(t, filepath.Join(root, "cfg")); on != "the other host's" {
		t.Fatalf("cfg = %q; want the winner's content kept", on)
	}
}

func TestReadFile(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root)
	ctx := ctxT(t, 30*time.Second)
	if _, err := c.ReadFile(ctx, "missing"); !isNotExist(err) {
		t.Fatalf("ReadFile(missing) = %v; want not exist", err)
	}
	mustWrite(t, filepath.Join(root, "plain"), "made outside") // no record: read as is
	if b, err := c.ReadFile(ctx, "plain"); err != nil || string(b) != "made outside" {
		t.Fatalf("ReadFile(plain) = %q, %v", b, err)
	}
	if err := c.WriteFile(ctx, "f", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadFile(ctx, "f"); err != nil || string(b) != "v1" {
		t.Fatalf("ReadFile(f) = %q, %v; want v1", b, err)
	}
}

// editedOutside returns a local-mode coordinator with the stale-view window
// given, on a root whose "f" was written through it and then rewritten
// outside sharedwrite: "f" matches no recorded version (as a stale cache
// could show it too).
func editedOutside(t *testing.T, window time.Duration) *Coordinator {
	t.Helper()
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(window))
	if err := c.WriteFile(ctxT(t, 30*time.Second), "f", []byte("recorded"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "f"), "not what the record says")
	return c
}
