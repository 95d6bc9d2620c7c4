//go:build unix

package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Coordinators that adopted one lease (here in one process; in use, one per
// process) take turns on the key: while one holds an open streaming File,
// another's write waits and fails at its deadline, then goes through once the
// File is committed; so does a write nested in the holder's Lock function.
// Within one adopter, a write made while its own File is open does not wait
// for itself.
func TestAdoptersTakeTurns(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			err := c.Lock(ctx, "f", func(lctx context.Context, info LeaseInfo) error {
				adopter := func() *Coordinator { return adopterOf(ctx, t, m, root, info) }
				a, b := adopter(), adopter()
				f, err := a.Create(ctx, "f", 0o644)
				if err != nil {
					return err
				}
				if _, err := f.Write([]byte("file")); err != nil {
					return err
				}
				own, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = a.WriteFile(own, "f", []byte("own"), 0o644)
				cancel()
				if err != nil {
					t.Errorf("a write by the adopter whose File is open = %v; want it done", err)
				}
				short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				err = b.WriteFile(short, "f", []byte("other"), 0o644)
				cancel()
				if !errors.Is(err, ErrNotObtained) {
					t.Errorf("another adopter's write while the File is open = %v; want ErrNotObtained", err)
				}
				short, cancel = context.WithTimeout(lctx, 300*time.Millisecond)
				err = c.WriteFile(short, "f", []byte("holder"), 0o644)
				cancel()
				if !errors.Is(err, ErrNotObtained) {
					t.Errorf("the holder's nested write while an adopter's File is open = %v; want ErrNotObtained", err)
				}
				if err := f.Commit(ctx); err != nil {
					return err
				}
				if err := b.WriteFile(ctx, "f", []byte("other"), 0o644); err != nil {
					t.Errorf("another adopter's write after the File's commit = %v", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(root, "f")); got != "other" {
				t.Errorf("f = %q; want the last write's %q", got, "other")
			}
		})
	}
}
