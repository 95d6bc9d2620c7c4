package coordinator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A Lock whose release finds its lease gone (deleted in Redis while fn ran,
// before the watchdog's next refresh could tell) fails with ErrLeaseLost:
// another holder may have run meanwhile. Only a release that could not
// reach Redis is taken for a done Lock with a warning.
func TestLockWhoseReleaseFindsTheLeaseGoneFails(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	c := open(t, rds, root, WithLeaseTTL(30*time.Second))
	admin := r.Client(t)
	ctx := ctxT(t, 20*time.Second)
	err := c.Lock(ctx, "k", func(ctx context.Context, info LeaseInfo) error {
		return admin.Del(ctx, locking.RedisKeys(c.VolumeID(), info.Key).Lock).Err()
	})
	if !errors.Is(err, locking.ErrLeaseLost) {
		t.Fatalf("Lock whose lease was deleted while fn ran = %v; want ErrLeaseLost", err)
	}
}
