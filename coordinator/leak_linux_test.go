//go:build linux

package coordinator

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

func countFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(es)
}

// Operations leave no goroutine or descriptor behind, with a long-running
// Appender and Watch open meanwhile (they must not grow either).
func TestNoLeakPerOperation(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 60*time.Second)
			a := c.Appender("log")
			defer a.Close()
			wctx, stopWatch := context.WithCancel(ctx)
			watched := make(chan error, 1)
			go func() {
				watched <- c.Watch(wctx, "f", func(context.Context, Change) error { return nil }, WatchInterval(20*time.Millisecond))
			}()
			defer func() { stopWatch(); <-watched }()
			op := func(i int) {
				if err := c.WriteFile(ctx, "f", []byte(fmt.Sprint(i)), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := c.Update(ctx, "g", increment); err != nil {
					t.Fatal(err)
				}
				if err := a.Append(ctx, []byte("x\n")); err != nil {
					t.Fatal(err)
				}
				if _, err := c.ReadFile(ctx, "f"); err != nil {
					t.Fatal(err)
				}
				_ = c.Lock(ctx, "h", func(context.Context, LeaseInfo) error { return nil })
				_ = c.Tx(ctx, []TxFile{{Name: "t1", Data: []byte("a")}, {Name: "t2", Data: []byte("b")}})
			}
			for i := 0; i < 20; i++ {
				op(i)
			}
			time.Sleep(200 * time.Millisecond)
			g0, f0 := runtime.NumGoroutine(), countFDs(t)
			for i := 0; i < 100; i++ {
				op(i)
			}
			time.Sleep(500 * time.Millisecond)
			g1, f1 := runtime.NumGoroutine(), countFDs(t)
			t.Logf("goroutines %d -> %d, fds %d -> %d", g0, g1, f0, f1)
			if g1 > g0+5 || f1 > f0+5 {
				t.Errorf("leak: goroutines %d -> %d, fds %d -> %d", g0, g1, f0, f1)
			}
		})
	}
}
