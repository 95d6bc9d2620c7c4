package coordinator

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

// A Move or a Tx that fails with its leases held must report its own error,
// not a lease loss (exit 4): releasing the leases afterwards is not a loss.
func TestFailedMoveAndTxAreNotLeaseLoss(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			mustWrite(t, filepath.Join(root, "adir", "f"), "adir is a directory")

			err := c.Move(ctx, filepath.Join(t.TempDir(), "missing"), "dst")
			if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotHeld) || errors.Is(err, ErrLeaseLost) {
				t.Errorf("Move of a missing source = %v; want fs.ErrNotExist and no lease loss", err)
			}
			if got := ExitCode(err); got != ExitFailure {
				t.Errorf("ExitCode(Move of a missing source) = %d; want %d", got, ExitFailure)
			}

			err = c.Tx(ctx, []TxFile{{Name: "ok", Data: []byte("x")}, {Name: "adir", Data: []byte("y")}})
			if err == nil || errors.Is(err, ErrNotHeld) || errors.Is(err, ErrLeaseLost) {
				t.Errorf("Tx onto a directory = %v; want its own error and no lease loss", err)
			}
			if got := ExitCode(err); got == ExitLeaseLost {
				t.Errorf("ExitCode(failed Tx) = %d; want anything but %d (lease lost)", got, ExitLeaseLost)
			}
		})
	}
}
