//go:build linux

package writer

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestInPlaceFifoMarkerDoesNotHang: a FIFO planted under the name of a
// file's in-place marker must never make an operation on the file (a read, a
// write, a Sweep) hang: each must return, with or without an error, well
// within its context's deadline.
func TestInPlaceFifoMarkerDoesNotHang(t *testing.T) {
	ops := []struct {
		name string
		do   func(ctx context.Context, r *Root) error
	}{
		{"ReadFile", func(ctx context.Context, r *Root) error { _, err := r.ReadFile(ctx, "f"); return err }},
		{"WriteFile", func(ctx context.Context, r *Root) error {
			return r.WriteFile(ctx, "f", []byte("new"), 0o644)
		}},
		{"Sweep", func(ctx context.Context, r *Root) error { _, err := r.Sweep(ctx, time.Hour); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			r, dir := openRoot(t)
			mustWrite(t, filepath.Join(dir, "f"), "content", 0o644)
			mRel, _ := inPlaceNames("f")
			fifo := filepath.Join(dir, mRel)
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- op.do(ctx, r) }()
			select {
			case err := <-done:
				t.Logf("%s with a FIFO marker: %v", op.name, err)
			case <-time.After(6 * time.Second):
				// Unblock the reader stuck in open(2) of the FIFO: a writer
				// that opens and closes it gives it EOF.
				for i := 0; i < 100; i++ {
					if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						w.Close()
					}
					select {
					case <-done:
						i = 100
					case <-time.After(50 * time.Millisecond):
					}
				}
				t.Fatalf("%s with a FIFO planted as the in-place marker %s: still running 6 s later (context deadline 2 s); want it to return", op.name, mRel)
			}
		})
	}
}

// TestInPlaceHugeMarkerNotReadWhole: a huge file planted under the name of
// an in-place marker (a real marker is a few hundred bytes) must not be read
// into memory by an operation that settles the name.
func TestInPlaceHugeMarkerNotReadWhole(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "f"), "content", 0o644)
	mRel, _ := inPlaceNames("f")
	const huge = 256 << 20
	f, err := os.Create(filepath.Join(dir, mRel))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(huge); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = restoreInPlace(context.Background(), r, "f")
	runtime.ReadMemStats(&after)
	t.Logf("restoreInPlace with a %d MiB marker: %v", huge>>20, err)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("settling a name whose marker is a %d MiB file allocated %d MiB; want a bounded read (a marker is a few hundred bytes)", huge>>20, got>>20)
	}
}

// TestInPlaceHugeBackupNotHashed: a planted marker that says the old content
// is 11 bytes, with a huge (sparse) backup beside it, must be refused at once
// by its size, not after hashing the whole backup.
func TestInPlaceHugeBackupNotHashed(t *testing.T) {
	r, dir := openRoot(t)
	oldData, newData := []byte("old content"), []byte("new content")
	mRel, bRel := inPlaceNames("f")
	mustWrite(t, filepath.Join(dir, "f"), "torn content here", 0o644)
	in := inPlaceIntent{Target: "f", OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData),
		NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}
	mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)
	b, err := os.Create(filepath.Join(dir, bRel))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	b.Close()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- restoreInPlace(context.Background(), r, "f") }()
	select {
	case err := <-done:
		t.Logf("restoreInPlace: %v after %v", err, time.Since(start))
	case <-time.After(1500 * time.Millisecond):
		err := <-done // let it finish so the temp dir can be removed
		t.Errorf("restoreInPlace with a 2 GiB backup whose marker says 11 bytes: took %v (%v); want a refusal by size at once", time.Since(start), err)
	}
}
