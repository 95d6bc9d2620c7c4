package coordinator

import (
	"context"
	"testing"
	"time"
)

// A Lock hands its fencing token to fn (to pass on to systems that check it;
// the CLI's SHAREDWRITE_FENCE). After Redis loses its data (a restart without
// persistence), the next Lock on the key gets a higher token, also when the
// first committed nothing.
func TestLockTokenIncreasesAfterRedisRestart(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	r, root, cl := ownRedisVolume(t, ctx)
	c, err := Open(ctx, root, WithRedis(cl))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if err := c.WriteFile(ctx, "f", []byte{byte('a' + i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var first uint64
	if err := c.Lock(ctx, "f", func(ctx context.Context, l LeaseInfo) error {
		first = l.Token
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	var second uint64
	var lerr error
	for i := 0; i < 50; i++ { // the client reconnects
		if lerr = c.Lock(ctx, "f", func(ctx context.Context, l LeaseInfo) error {
			second = l.Token
			return nil
		}); lerr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	t.Logf("Lock tokens: before the restart %d, after %d", first, second)
	if second <= first {
		t.Fatalf("Lock after a Redis restart was handed token %d; an earlier Lock was handed %d: a fencing token repeated", second, first)
	}
}
