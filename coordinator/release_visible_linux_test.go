//go:build linux

package coordinator

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// The key is released once the change is visible, while the writer still
// fsyncs the directory: another replica takes the key, and finds the new
// content and its committed record, before the first WriteFile returns. A
// directory fsync that then fails still makes that WriteFile report the
// commit as unconfirmed.
func TestReleaseWhileDirSync(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
			c1 := open(t, m, ffs.Dir)
			c2 := open(t, m, ffs.Dir)
			ctx := ctxT(t, time.Minute)
			// Twice: the second write takes the early path (its temp
			// written while the key is taken) where the volume's fsync
			// is slow enough.
			for _, s := range []string{"v1", "v2"} {
				if err := c1.WriteFile(ctx, "f", []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			const held = 3 * time.Second
			ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Delay: held, Errno: syscall.EIO, Count: 1})
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- c1.WriteFile(ctx, "f", []byte("v3"), 0o644) }()
			for {
				if b, _ := os.ReadFile(ffs.Backed("f")); string(b) == "v3" {
					break
				}
				if time.Since(start) > held {
					t.Fatalf("f not renamed within %v", held)
				}
				time.Sleep(time.Millisecond)
			}
			lctx, cancel := context.WithTimeout(ctx, held/2)
			defer cancel()
			var token uint64
			err := c2.Lock(lctx, "f", func(_ context.Context, info LeaseInfo) error {
				token = info.Token
				return nil
			})
			select {
			case werr := <-done:
				t.Fatalf("WriteFile returned (%v) before the second replica took the key (%v): the directory fsync was not held", werr, err)
			default:
			}
			if err != nil {
				t.Fatalf("Lock while the first writer fsyncs the directory: %v (after %v); want the key taken", err, time.Since(start))
			}
			rec := recordOf(t, c2, "f")
			if rec.Committed.Size != 2 || rec.Committed.Token == 0 || rec.Committed.Token >= token {
				t.Errorf("committed record when the key was taken: token %d, size %d; want the v3 commit's (size 2, token below the Lock's %d)", rec.Committed.Token, rec.Committed.Size, token)
			}
			err = <-done
			if !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
				t.Errorf("WriteFile with the directory fsync failing = %v; want ErrDurabilityUnconfirmed", err)
			}
			if d := time.Since(start); d < held {
				t.Errorf("WriteFile returned after %v; want after the %v directory fsync", d, held)
			}
			if got := readFile(t, ffs.Backed("f")); got != "v3" {
				t.Errorf("f = %q; want v3", got)
			}
		})
	}
}
