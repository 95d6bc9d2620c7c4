package coordinator

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockFnErrorReturnedAsIs(t *testing.T) {
	c := open(t, local, t.TempDir())
	boom := errors.New("boom")
	if err := c.Lock(ctxT(t, 10*time.Second), "f", func(context.Context, LeaseInfo) error { return boom }); err != boom {
		t.Fatalf("Lock = %v; want boom as is", err)
	}
}
