package cli

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// TestCtxReader: data and EOF pass through; a Read blocked on a pipe that is
// never written returns the context's cause once it is cancelled.
func TestCtxReader(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	ctx, cancel := context.WithCancelCause(context.Background())
	r := newCtxReader(ctx, pr)
	go pw.Write([]byte("abc"))
	buf := make([]byte, 8)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("Read = %q, %v; want %q, nil", buf[:n], err, "abc")
	}

	cause := errors.New("interrupted by terminated")
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, cause) {
			t.Errorf("blocked Read after cancel: %v; want %v", err, cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked Read still blocked 10s after cancel")
	}
	if _, err := r.Read(buf); !errors.Is(err, cause) {
		t.Errorf("Read after cancel: %v; want %v", err, cause)
	}

	pr2, pw2 := io.Pipe()
	go func() { pw2.Write([]byte("x")); pw2.Close() }()
	b, err := io.ReadAll(newCtxReader(context.Background(), pr2))
	if err != nil || string(b) != "x" {
		t.Errorf("ReadAll = %q, %v; want %q, nil", b, err, "x")
	}
}
