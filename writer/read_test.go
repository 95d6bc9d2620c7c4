package writer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestReadVersion(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	c, err := r.ReadVersion(ctx, "missing")
	if err != nil || c.Exists {
		t.Errorf("ReadVersion(missing): got %+v, %v; want Exists false, nil", c, err)
	}
	if _, err := r.ReadFile(ctx, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing): got %v; want fs.ErrNotExist", err)
	}
	mustWrite(t, filepath.Join(dir, "f"), "v1", 0o640)
	c, err = r.ReadVersion(ctx, "f")
	if err != nil || !c.Exists || string(c.Data) != "v1" || c.Size != 2 || c.SHA256 != sha256.Sum256([]byte("v1")) || c.Mode.Perm() != 0o640 {
		t.Errorf("ReadVersion(f): got %+v, %v; want v1, size 2, its sha256, mode 0640", c, err)
	}
}

func TestReadVersionUntil(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	mustWrite(t, filepath.Join(dir, "f"), "old", 0o644)
	want := sha256.Sum256([]byte("new"))
	// The new version is written once the reader has refused the old one
	// and retries: it must keep reading until then.
	retrying := make(chan struct{})
	written := make(chan struct{})
	go func() {
		defer close(written)
		<-retrying
		if err := r.WriteFile(ctx, "f", []byte("new"), 0o644); err != nil {
			t.Error(err)
		}
	}()
	var retries atomic.Int32
	c, err := r.ReadVersion(ctx, "f", Until(func(c Content) bool { return c.SHA256 == want }, 10*time.Second),
		Observe(func(ev Event) {
			if ev.Step == "retry" && retries.Add(1) == 1 {
				close(retrying)
			}
		}))
	if retries.Load() == 0 {
		close(retrying) // let the writer end
	}
	<-written
	if err != nil || string(c.Data) != "new" {
		t.Errorf("ReadVersion until new: got %q, %v; want %q", c.Data, err, "new")
	}
	if retries.Load() == 0 {
		t.Error("no retry event while waiting for the new version")
	}
	// A version that never comes: ErrStaleView with the last read, within the window.
	start := time.Now()
	c, err = r.ReadVersion(ctx, "f", Until(func(c Content) bool { return false }, 150*time.Millisecond))
	if !errors.Is(err, ErrStaleView) || string(c.Data) != "new" {
		t.Errorf("ReadVersion never accepted: got %q, %v; want %q, ErrStaleView", c.Data, err, "new")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ReadVersion with a 150ms window returned after %v", d)
	}
	// The context bounds it too.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = r.ReadVersion(cctx, "f", Until(func(c Content) bool { return false }, 0))
	if !errors.Is(err, ErrStaleView) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadVersion past the deadline: got %v; want ErrStaleView and DeadlineExceeded", err)
	}
}

// TestReadersDuringReplaces: readers racing a writer always read one whole
// version and never find the file missing.
func TestReadersDuringReplaces(t *testing.T) {
	r, _ := openRoot(t)
	ctx := context.Background()
	version := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("version %06d|", i)), 4096) }
	if err := r.WriteFile(ctx, "f", version(0), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := r.ReadFile(ctx, "f")
				if err != nil {
					t.Errorf("ReadFile during replaces: %v", err)
					return
				}
				var i int
				fmt.Sscanf(string(b), "version %06d|", &i)
				if !bytes.Equal(b, version(i)) {
					t.Errorf("read a torn version (%d bytes)", len(b))
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := 1; i <= 200; i++ {
		if err := r.WriteFile(ctx, "f", version(i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("no read completed")
	}
}

func TestRenameStaged(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	mustWrite(t, filepath.Join(dir, "d", "target"), "old", 0o644)
	mustWrite(t, filepath.Join(dir, "d", ".staged"), "staged", 0o644)
	if err := r.RenameStaged(ctx, "d/.staged", "d/target"); err != nil {
		t.Fatalf("RenameStaged: %v", err)
	}
	if got := readString(t, filepath.Join(dir, "d", "target")); got != "staged" {
		t.Errorf("target: got %q; want %q", got, "staged")
	}
	if _, err := os.Lstat(filepath.Join(dir, "d", ".staged")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staged temp still there: %v", err)
	}
	if err := r.RenameStaged(ctx, "d/.staged", "d/target"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RenameStaged of a missing temp: got %v; want fs.ErrNotExist", err)
	}
	if err := r.RenameStaged(ctx, "d/target", "../escape"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("RenameStaged to ../escape: got %v; want ErrOutsideRoot", err)
	}
}

func TestErrorShape(t *testing.T) {
	e := newError2("rename", ".a.tmp", "a\nb", &os.LinkError{Op: "rename", Old: "x", New: "y", Err: os.ErrPermission})
	if got, want := e.Error(), `writer: rename ".a.tmp" -> "a\nb": permission denied`; got != want {
		t.Errorf("message: got %q; want %q", got, want)
	}
	if !errors.Is(e, fs.ErrPermission) {
		t.Error("errors.Is(e, fs.ErrPermission) = false")
	}
	w := newError("fsync directory", "d", withCause(ErrDurabilityUnconfirmed, &fs.PathError{Op: "sync", Path: "d", Err: syscall.EINVAL}))
	if !errors.Is(w, ErrDurabilityUnconfirmed) || !errors.Is(w, syscall.EINVAL) {
		t.Errorf("%v: does not unwrap to both the sentinel and the errno", w)
	}
	if msg := w.Error(); bytes.Count([]byte(msg), []byte("writer:")) != 1 {
		t.Errorf("message repeats the package prefix: %q", msg)
	}
	if !errors.Is(ErrExist, fs.ErrExist) {
		t.Error("errors.Is(ErrExist, fs.ErrExist) = false")
	}
}

// TestReadVersionHashOnly: HashOnly gives the sha256, size and mode a whole
// read gives, without the content, and its memory does not grow with the
// file (a whole read of the same file, the control, allocates its size).
func TestReadVersionHashOnly(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	const size = 64<<20 + 123
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	data[size/2] = 'x'
	if err := os.WriteFile(filepath.Join(dir, "big"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var whole, hashed Content
	var werr, herr error
	wholeAlloc := allocated(func() { whole, werr = r.ReadVersion(ctx, "big") })
	hashAlloc := allocated(func() { hashed, herr = r.ReadVersion(ctx, "big", HashOnly()) })
	if werr != nil || herr != nil {
		t.Fatalf("ReadVersion: %v; with HashOnly: %v", werr, herr)
	}
	if hashed.Data != nil || !hashed.Exists || hashed.Size != size || hashed.SHA256 != sha256.Sum256(data) || hashed.Mode != whole.Mode {
		t.Errorf("HashOnly: got size %d, exists %v, %d bytes of data, mode %v; want size %d, exists, no data, mode %v, the file's sha256",
			hashed.Size, hashed.Exists, len(hashed.Data), hashed.Mode, size, whole.Mode)
	}
	if whole.SHA256 != hashed.SHA256 || whole.Size != hashed.Size {
		t.Errorf("HashOnly sha256/size differ from a whole read's")
	}
	if wholeAlloc < size {
		t.Fatalf("the control allocated %d bytes for a %d-byte file; the measure does not work", wholeAlloc, size)
	}
	if hashAlloc > 4<<20 {
		t.Errorf("HashOnly allocated %d bytes for a %d-byte file; want no more than a few MiB", hashAlloc, size)
	}
	t.Logf("allocated: whole read %d MiB, HashOnly %d KiB", wholeAlloc>>20, hashAlloc>>10)

	if c, err := r.ReadVersion(ctx, "missing", HashOnly()); err != nil || c.Exists {
		t.Errorf("HashOnly of a missing file: %+v, %v; want Exists false, nil", c, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadVersion(ctx, "d", HashOnly()); !errors.Is(err, ErrNotRegular) {
		t.Errorf("HashOnly of a directory: %v; want ErrNotRegular", err)
	}
}
