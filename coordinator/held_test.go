package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A Lock's context lets nested operations of the same Coordinator on the same
// key reuse its lease; another Coordinator (another root, another volume)
// given that context must still take its own lease and lock.
func TestHeldLeaseNotBorrowedByAnotherCoordinator(t *testing.T) {
	rootA, rootB := t.TempDir(), t.TempDir()
	a := open(t, local, rootA)
	b := open(t, local, rootB)
	holder := open(t, local, rootB)
	ctx := ctxT(t, 30*time.Second)

	holding, stop := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- holder.Lock(ctx, "f", func(context.Context, LeaseInfo) error {
			close(holding)
			<-stop
			return nil
		})
	}()
	<-holding
	err := a.Lock(ctx, "f", func(ctx context.Context, _ LeaseInfo) error {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		return b.WriteFile(short, "f", []byte("b"), 0o644)
	})
	close(stop)
	if herr := <-held; herr != nil {
		t.Fatal(herr)
	}
	if !errors.Is(err, locking.ErrNotObtained) {
		t.Errorf("write on root B inside root A's Lock while B's key is held = %v; want ErrNotObtained", err)
	}
	if m, _ := filepath.Glob(filepath.Join(rootB, "f")); len(m) != 0 {
		t.Errorf("root B's f was written without its lock")
	}
}
