package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkTooLarge fails unless err is a refusal by the read limit of the file
// name: ErrTooLarge and EFBIG, exit 1, and a message naming the file.
func checkTooLarge(t *testing.T, op string, err error, name string) {
	t.Helper()
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("%s: got %v; want an error wrapping ErrTooLarge and EFBIG", op, err)
	}
	if got := ExitCode(err); got != ExitFailure {
		t.Errorf("%s: ExitCode(%v) = %d; want %d", op, err, got, ExitFailure)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("%s: message %q; want it to name %q", op, err, name)
	}
}

// TestReadFileMaxReadSize: ReadFile refuses a file over WithMaxReadSize,
// with a record or without one (written outside sharedwrite), and reads one
// at the limit.
func TestReadFileMaxReadSize(t *testing.T) {
	const limit = 1024
	root := t.TempDir()
	c := open(t, local, root, WithMaxReadSize(limit))
	ctx := ctxT(t, 30*time.Second)
	for _, tc := range []struct {
		name     string
		size     int
		recorded bool // written through the coordinator
		ok       bool
	}{
		{"at", limit, true, true},
		{"over", limit + 1, true, false},
		{"far-over", 100 * limit, true, false},
		{"outside-at", limit, false, true},
		{"outside-over", limit + 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := bytes.Repeat([]byte("x"), tc.size)
			if tc.recorded {
				if err := c.WriteFile(ctx, tc.name, want, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				mustWrite(t, filepath.Join(root, tc.name), string(want))
			}
			data, err := c.ReadFile(ctx, tc.name)
			if tc.ok {
				if err != nil || !bytes.Equal(data, want) {
					t.Fatalf("ReadFile(%d bytes, limit %d): got %d bytes, %v; want the %d bytes", tc.size, limit, len(data), err, tc.size)
				}
				return
			}
			checkTooLarge(t, "ReadFile", err, tc.name)
			if want := fmt.Sprintf("the file is %d bytes, more than the read limit of %d bytes", tc.size, limit); !strings.Contains(err.Error(), want) {
				t.Errorf("ReadFile: message %q; want it to hold %q", err, want)
			}
			if data != nil {
				t.Errorf("ReadFile: got %d bytes of data with the error; want none", len(data))
			}
		})
	}
}

// TestMaxReadSizeDefault: without WithMaxReadSize the limit is
// DefaultMaxReadSize; WithMaxReadSize(0) means no limit. The file over the
// default is sparse: it takes no disk, and its refusal reads none of it.
func TestMaxReadSizeDefault(t *testing.T) {
	root := t.TempDir()
	ctx := ctxT(t, 30*time.Second)
	p := filepath.Join(root, "sparse")
	mustWrite(t, p, "")
	if err := os.Truncate(p, DefaultMaxReadSize+1); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	c := open(t, local, root)
	_, err := c.ReadFile(ctx, "sparse")
	checkTooLarge(t, "ReadFile with the default limit", err, "sparse")
	if want := fmt.Sprintf("more than the read limit of %d bytes", DefaultMaxReadSize); !strings.Contains(err.Error(), want) {
		t.Errorf("ReadFile: message %q; want it to hold %q", err, want)
	}

	mustWrite(t, filepath.Join(root, "small"), "some bytes")
	for _, n := range []int64{0, -1} {
		c := open(t, local, root, WithMaxReadSize(n))
		if data, err := c.ReadFile(ctx, "small"); err != nil || string(data) != "some bytes" {
			t.Errorf("WithMaxReadSize(%d): ReadFile = %q, %v; want %q (no limit)", n, data, err, "some bytes")
		}
	}
}

// TestUpdateMaxReadSize: Update of a file over the limit fails (exit 1)
// before fn runs, and leaves the file, its record and its directory as they
// were; at the limit it runs.
func TestUpdateMaxReadSize(t *testing.T) {
	const limit = 1024
	root := t.TempDir()
	c := open(t, local, root, WithMaxReadSize(limit))
	ctx := ctxT(t, 30*time.Second)
	big := bytes.Repeat([]byte("b"), limit+1)
	if err := c.WriteFile(ctx, "big", big, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := c.peekRecord("big")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	err = c.Update(ctx, "big", func(old []byte, _ bool) ([]byte, error) {
		called = true
		return []byte("new"), nil
	})
	checkTooLarge(t, "Update", err, "big")
	if called {
		t.Error("Update called fn on a file over the read limit")
	}
	if got := readFile(t, filepath.Join(root, "big")); got != string(big) {
		t.Errorf("Update changed the file to %d bytes %.20q; want the %d bytes it had", len(got), got, len(big))
	}
	if temps := tempsIn(t, root); len(temps) > 0 {
		t.Errorf("Update left temps %v", temps)
	}
	after, err := c.peekRecord("big")
	if err != nil {
		t.Fatal(err)
	}
	if !sameVersion(after.Committed, before.Committed) || after.Pending.Token != before.Pending.Token {
		t.Errorf("Update changed the record: committed %+v, pending %+v; want committed %+v, pending %+v", after.Committed, after.Pending, before.Committed, before.Pending)
	}

	at := bytes.Repeat([]byte("a"), limit)
	if err := c.WriteFile(ctx, "at", at, 0o644); err != nil {
		t.Fatal(err)
	}
	err = c.Update(ctx, "at", func(old []byte, _ bool) ([]byte, error) {
		if !bytes.Equal(old, at) {
			return nil, fmt.Errorf("fn got %d bytes; want the %d at the limit", len(old), len(at))
		}
		return []byte("new"), nil
	})
	if err != nil {
		t.Fatalf("Update at the limit: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "at")); got != "new" {
		t.Errorf("after Update at the limit: %q; want %q", got, "new")
	}
}

// TestInitOnceMaxReadSize: InitOnce of an existing file over the limit fails
// (exit 1) without running gen, with a record (the lease-free path) or
// without one (the locked path), and leaves the file as it was.
func TestInitOnceMaxReadSize(t *testing.T) {
	const limit = 1024
	root := t.TempDir()
	c := open(t, local, root, WithMaxReadSize(limit))
	ctx := ctxT(t, 30*time.Second)
	big := bytes.Repeat([]byte("b"), limit+1)
	if err := c.WriteFile(ctx, "recorded", big, 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "outside"), string(big))
	for _, name := range []string{"recorded", "outside"} {
		called := false
		data, err := c.InitOnce(ctx, name, func(context.Context) ([]byte, error) {
			called = true
			return []byte("generated"), nil
		})
		checkTooLarge(t, "InitOnce("+name+")", err, name)
		if called || data != nil {
			t.Errorf("InitOnce(%s): gen called %v, got %d bytes; want gen not called, no data", name, called, len(data))
		}
		if got := readFile(t, filepath.Join(root, name)); got != string(big) {
			t.Errorf("InitOnce(%s) changed the file to %d bytes; want the %d it had", name, len(got), len(big))
		}
	}
}

// TestWatchMaxReadSize: Watch delivers versions within the limit and ends
// with an error wrapping ErrTooLarge at one over it.
func TestWatchMaxReadSize(t *testing.T) {
	const limit = 1024
	root := t.TempDir()
	c := open(t, local, root, WithMaxReadSize(limit))
	ctx := ctxT(t, 30*time.Second)
	small := bytes.Repeat([]byte("s"), limit)
	if err := c.WriteFile(ctx, "cfg", small, 0o644); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, "cfg", func(_ context.Context, ch Change) error {
			got = append(got, ch.Data)
			if len(got) == 1 {
				// The next version is over the limit.
				return c.WriteFile(ctx, "cfg", bytes.Repeat([]byte("b"), limit+1), 0o644)
			}
			return nil
		}, WatchInitial(), WatchInterval(50*time.Millisecond))
	}()
	select {
	case err := <-done:
		checkTooLarge(t, "Watch", err, "cfg")
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not end within 20s at a version over the read limit")
	}
	if len(got) != 1 || !bytes.Equal(got[0], small) {
		t.Errorf("Watch delivered %d versions; want 1, the %d bytes within the limit", len(got), len(small))
	}
}
