package cli

import (
	"context"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

// TestAppendBatchTimeout: append bounds each batch by --timeout, and by
// nothing for --timeout 0. The coordinator's BatchTimeout takes 0 to mean
// its DefaultBatchTimeout (1m), so --timeout 0 must pass a bound no batch
// reaches; and that bound, used as the coordinator uses it
// (context.WithTimeout), must give a deadline centuries away, not an
// overflow into the past.
//
// The end-to-end form (append --timeout 0 behind a lock held past the
// one-minute default) takes over a minute; this checks the same choice.
func TestAppendBatchTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout, want time.Duration
	}{
		{5 * time.Second, 5 * time.Second},
		{2 * time.Hour, 2 * time.Hour},
	} {
		if got := batchTimeout(tc.timeout); got != tc.want {
			t.Errorf("batchTimeout(%v) = %v; want %v", tc.timeout, got, tc.want)
		}
	}

	d := batchTimeout(0)
	const century = 100 * 365 * 24 * time.Hour
	if d < century {
		t.Fatalf("batchTimeout(0) = %v; want no limit (at least a century; the coordinator's default is %v)", d, coordinator.DefaultBatchTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) < century || ctx.Err() != nil {
		t.Errorf("context.WithTimeout(batchTimeout(0)): deadline %v (set %v), err %v; want one at least a century away", dl, ok, ctx.Err())
	}
}
