package coordinator

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackpressure(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 1))
	ctx := ctxT(t, 30*time.Second)
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Lock(ctx, "a", func(context.Context, LeaseInfo) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	// The second operation is queued (admitted, waiting for a run slot).
	second := make(chan error, 1)
	go func() { second <- c.WriteFile(ctx, "b", []byte("b"), 0o644) }()
	for len(c.gate.admit) != 2 {
		select {
		case err := <-second:
			t.Fatalf("second operation ran while the first held the only slot: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	// The third finds both bounds exhausted: ErrQueueFull at once.
	err := c.WriteFile(ctx, "c", []byte("c"), 0o644)
	if !errors.Is(err, ErrQueueFull) || ExitCode(err) != ExitNotObtained {
		t.Fatalf("third WriteFile = %v (exit %d); want ErrQueueFull, exit 3", err, ExitCode(err))
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

func TestBackpressureWaitWhenFull(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 0), WaitWhenFull())
	ctx := ctxT(t, 30*time.Second)
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Lock(ctx, "a", func(context.Context, LeaseInfo) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.WriteFile(short, "b", []byte("b"), 0o644); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WriteFile while full = %v; want a wait ending at the deadline", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.WriteFile(ctx, "b", []byte("b"), 0o644) }()
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("WriteFile that waited for room: %v", err)
	}
}
