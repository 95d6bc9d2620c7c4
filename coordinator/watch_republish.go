package coordinator

import (
	"context"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// aheadOfRedis returns the volume's committed version when a holder that
// commits nothing finds it ahead of the copy Redis returned on acquire (Redis
// restarted without persistence, failed over, or a writer crashed between its
// commit and its release): releasing the lease with it stores it in Redis again
// and republishes its change event, so watchers and InitOnce readers that go
// by Redis catch up. nil in local mode, or when Redis is not behind.
func (c *Coordinator) aheadOfRedis(ctx context.Context, h *held) *locking.Version {
	if c.vol.mode != ModeRedis || h.lease == nil || h.rec.Committed.Token == 0 {
		return nil
	}
	v := h.rec.Committed
	if rv, ok := h.lease.Committed(); ok && rv.Token >= v.Token {
		return nil
	}
	c.log.InfoContext(ctx, "the volume's committed version is ahead of Redis's; republishing it",
		"key", quote.Value(h.key), "token", v.Token)
	return &v
}
