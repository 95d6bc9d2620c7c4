//go:build linux

package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Two Moves a->b and b->a at once, both inside the root: both keys are
// leased in one order, so they never deadlock; one moves, the other finds its
// source gone (or moves back). Never both sources gone with one file left
// holding neither content.
func TestMoveCrossedPairNoDeadlock(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c1 := open(t, m, root)
			c2 := open(t, m, root)
			for i := range 20 {
				ctx := ctxT(t, 20*time.Second)
				mustWrite(t, filepath.Join(root, "a"), "A")
				mustWrite(t, filepath.Join(root, "b"), "B")
				var wg sync.WaitGroup
				var e1, e2 error
				wg.Go(func() { e1 = c1.Move(ctx, filepath.Join(root, "a"), "b") })
				wg.Go(func() { e2 = c2.Move(ctx, filepath.Join(root, "b"), "a") })
				wg.Wait()
				if ctx.Err() != nil {
					t.Fatalf("round %d: the crossed Moves did not finish in 20 s: %v / %v", i, e1, e2)
				}
				a, aerr := os.ReadFile(filepath.Join(root, "a"))
				b, berr := os.ReadFile(filepath.Join(root, "b"))
				switch {
				case e1 == nil && e2 == nil:
					// a->b then b->a: "A" ends at a; b->a then a->b: "B" at b.
					ab := aerr == nil && string(a) == "A" && errors.Is(berr, fs.ErrNotExist)
					ba := berr == nil && string(b) == "B" && errors.Is(aerr, fs.ErrNotExist)
					if !ab && !ba {
						t.Fatalf("round %d: both moved; a=%q,%v b=%q,%v", i, a, aerr, b, berr)
					}
				case e1 == nil || e2 == nil:
					// One moved, the other's source was gone.
				default:
					t.Fatalf("round %d: both Moves failed: %v / %v", i, e1, e2)
				}
				os.Remove(filepath.Join(root, "a"))
				os.Remove(filepath.Join(root, "b"))
			}
		})
	}
}
