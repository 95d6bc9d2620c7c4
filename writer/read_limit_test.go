package writer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestReadMaxReadSize: a whole-file read refuses a file over MaxReadSize
// (ErrTooLarge, EFBIG, an *Error naming the step and the path) and reads one
// at the limit or under it; HashOnly and a limit <= 0 are not bounded.
func TestReadMaxReadSize(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	const limit = 1000
	for _, tc := range []struct {
		name  string
		size  int
		limit int64
		ok    bool
	}{
		{"under", limit - 1, limit, true},
		{"at", limit, limit, true},
		{"over", limit + 1, limit, false},
		{"far over", 10 * limit, limit, false},
		{"empty", 0, limit, true},
		{"zero is no limit", 10 * limit, 0, true},
		{"negative is no limit", 10 * limit, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-") + ".bin"
			want := bytes.Repeat([]byte("x"), tc.size)
			mustWrite(t, filepath.Join(dir, name), string(want), 0o644)

			data, err := r.ReadFile(ctx, name, MaxReadSize(tc.limit))
			if tc.ok {
				if err != nil || !bytes.Equal(data, want) {
					t.Fatalf("ReadFile(%d bytes, limit %d): got %d bytes, %v; want the %d bytes, nil", tc.size, tc.limit, len(data), err, tc.size)
				}
				c, err := r.ReadVersion(ctx, name, MaxReadSize(tc.limit))
				if err != nil || c.Size != int64(tc.size) || c.SHA256 != sha256.Sum256(want) {
					t.Fatalf("ReadVersion(%d bytes, limit %d): got size %d, %v; want size %d and its sha256", tc.size, tc.limit, c.Size, err, tc.size)
				}
				return
			}
			if data != nil {
				t.Errorf("ReadFile(%d bytes, limit %d): got %d bytes of data; want none", tc.size, tc.limit, len(data))
			}
			checkTooLarge(t, err, name, fmt.Sprintf("the file is %d bytes, more than the read limit of %d bytes", tc.size, tc.limit))

			c, err := r.ReadVersion(ctx, name, MaxReadSize(tc.limit))
			if c.Exists || c.Data != nil {
				t.Errorf("ReadVersion(%d bytes, limit %d): got Exists %v, %d bytes; want the zero Content", tc.size, tc.limit, c.Exists, len(c.Data))
			}
			checkTooLarge(t, err, name, "")

			c, err = r.ReadVersion(ctx, name, MaxReadSize(tc.limit), HashOnly())
			if err != nil || c.Size != int64(tc.size) || c.SHA256 != sha256.Sum256(want) || c.Data != nil {
				t.Errorf("ReadVersion(%d bytes, limit %d, HashOnly): got size %d, %d bytes of data, %v; want size %d, its sha256, no data", tc.size, tc.limit, c.Size, len(c.Data), err, tc.size)
			}
		})
	}
}

// checkTooLarge fails unless err is the *Error of a read of name refused by
// the read limit, whose message holds detail.
func checkTooLarge(t *testing.T, err error, name, detail string) {
	t.Helper()
	var we *Error
	if !errors.As(err, &we) || we.Op != "read" || we.Path != name {
		t.Fatalf("got %v (%T); want an *Error with Op read, Path %q", err, err, name)
	}
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, syscall.EFBIG) {
		t.Errorf("got %v; want it to wrap ErrTooLarge and EFBIG", err)
	}
	if IsTransient(err) {
		t.Errorf("IsTransient(%v) = true; want false", err)
	}
	if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, detail) {
		t.Errorf("message %q; want it to name %q and hold %q", msg, name, detail)
	}
}

// TestReadMaxReadSizeNotRetried: a too-large file is reported at once, even
// with Until (which retries what it does not accept), never retried.
func TestReadMaxReadSizeNotRetried(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "big.bin"), strings.Repeat("x", 100), 0o644)
	retries := 0
	_, err := r.ReadVersion(context.Background(), "big.bin", MaxReadSize(10),
		Until(func(Content) bool { return true }, 0),
		Observe(func(ev Event) {
			if ev.Step == "retry" {
				retries++
			}
		}))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadVersion: got %v; want ErrTooLarge", err)
	}
	if retries != 0 {
		t.Errorf("ReadVersion retried %d times; want 0 (a too-large file is not transient)", retries)
	}
}

// TestReadMaxReadSizeRefusedBeforeAllocating: a file whose fstat size is
// above the limit is refused before a buffer for it is allocated. The file is
// sparse (1 GiB that takes no disk), so an allocation of its size would show
// in the heap's total.
func TestReadMaxReadSizeRefusedBeforeAllocating(t *testing.T) {
	r, dir := openRoot(t)
	const size = 1 << 30
	if err := os.WriteFile(filepath.Join(dir, "sparse.bin"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "sparse.bin"), size); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	const limit = 64 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := r.ReadFile(context.Background(), "sparse.bin", MaxReadSize(limit))
	runtime.ReadMemStats(&after)
	checkTooLarge(t, err, "sparse.bin", fmt.Sprintf("the file is %d bytes, more than the read limit of %d bytes", size, limit))
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("the refused read allocated %d bytes; want under 1 MiB (nothing sized for the file or the limit)", got)
	}
}

// TestReadAllGrowsPastLimit: a file that grows past the limit after its fstat
// (its size grows between the fstat and the read) is refused once limit+1
// bytes are read, and no more of it is read; one that grows but stays within
// the limit is read whole.
func TestReadAllGrowsPastLimit(t *testing.T) {
	dir := t.TempDir()
	const limit = 4096
	for _, tc := range []struct {
		name         string
		first, grown int // size at the fstat, bytes appended after it
		ok           bool
	}{
		{"grows within the limit", 100, limit - 100, true},
		{"grows to one past the limit", 100, limit - 99, false},
		{"grows far past the limit", 100, 10 * limit, false},
		{"at the limit, grows by one", limit, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			first := bytes.Repeat([]byte("a"), tc.first)
			if err := os.WriteFile(p, first, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			// A writer appends after the reader's fstat.
			more := bytes.Repeat([]byte("b"), tc.grown)
			w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(more); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			data, sum, err := readAll(f, st.Size(), limit)
			if tc.ok {
				want := append(first, more...)
				if err != nil || !bytes.Equal(data, want) || sum != sha256.Sum256(want) {
					t.Fatalf("readAll: got %d bytes, %v; want the %d bytes and their sha256", len(data), err, len(want))
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !errors.Is(err, syscall.EFBIG) || data != nil {
				t.Fatalf("readAll: got %d bytes, %v; want no data, ErrTooLarge and EFBIG", len(data), err)
			}
			if want := fmt.Sprintf("grew past the read limit of %d bytes", limit); !strings.Contains(err.Error(), want) {
				t.Errorf("message %q; want it to hold %q", err, want)
			}
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				t.Fatal(err)
			}
			if off != limit+1 {
				t.Errorf("readAll read %d bytes of the file; want limit+1 = %d", off, limit+1)
			}
		})
	}
}

// TestReadPrefix: ReadPrefix reads only the first n bytes (fewer when the file
// is shorter), hashes those, and MaxReadSize bounds what it reads rather than
// the file.
func TestReadPrefix(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes
	if err := os.WriteFile(filepath.Join(dir, "log"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n, limit int64
		want     int64 // bytes read; -1: refused as too large
	}{
		{100, 1000, 100},
		{0, 1000, 0},
		{1000, 1000, 1000},
		{1001, 1000, -1},
		{5000, 0, 3000},
		{5000, 4000, 3000}, // the file is shorter than n: its 3000 bytes are within the limit
	} {
		c, err := r.ReadVersion(ctx, "log", MaxReadSize(tc.limit), ReadPrefix(tc.n))
		if tc.want < 0 {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("ReadPrefix(%d) MaxReadSize(%d) = %d bytes, %v; want ErrTooLarge", tc.n, tc.limit, c.Size, err)
			}
			continue
		}
		if err != nil || c.Size != tc.want || !bytes.Equal(c.Data, data[:tc.want]) || c.SHA256 != sha256.Sum256(data[:tc.want]) {
			t.Errorf("ReadPrefix(%d) MaxReadSize(%d) = %d bytes, %v; want the first %d bytes and their hash", tc.n, tc.limit, c.Size, err, tc.want)
		}
	}
}
