package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
)

// probeRedis measures the round trip and the clock skew and takes a lease
// on a key of doctor's own for the volume volID. A step that fails is in the
// report (RedisErr and a problem) and its error returned: Redis unreachable
// (exit 6), or Redis's own error (exit 1, as for every command), except the
// refusals probeLease reports.
func probeRedis(ctx context.Context, g *globals, volID string, rep *doctorReport) error {
	c, err := newRedisClient(g.clientURL())
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := g.bounded(ctx)
	defer cancel()
	rtt, err := measurePing(ctx, c, 20)
	if err != nil {
		return rep.redisFailed(err)
	}
	rep.RedisRTT = &rtt
	// The sample with the shortest round trip bounds the skew best.
	best := time.Duration(1<<63 - 1)
	for range 5 {
		skew, d, err := clockSkew(ctx, c)
		if err != nil {
			return rep.redisFailed(err)
		}
		if d < best {
			best, rep.ClockSkew = d, skew
		}
	}
	if err := probeLease(ctx, c, volID, rep); err != nil {
		return rep.redisFailed(err)
	}
	return nil
}

// redisFailed records err, the failure of a step of the Redis probe (err
// names it), in the report and returns it.
func (r *doctorReport) redisFailed(err error) error {
	r.RedisErr = "refused: " + err.Error()
	if errors.Is(err, locking.ErrUnavailable) {
		r.RedisErr = "unreachable: " + err.Error()
	}
	r.Problems = append(r.Problems, "Redis "+r.Redis+" "+r.RedisErr)
	return err
}

// leaseProbeKey is the prefix of the key doctor takes a lease on.
const leaseProbeKey = doctorDir + "/lease-probe"

// probeLease takes and releases a lease on a key of doctor's own, then
// publishes and subscribes on its change channel: a Redis user whose ACL
// refuses the scripts (EVALSHA) or the keys cannot take a lease at all (a
// problem), one that refuses PUBLISH or SUBSCRIBE leaves watchers and
// waiters to polling (a warning). The key's Redis names are deleted after.
// volID is the volume's id, or "" when it has none (a throwaway id then).
// A Redis that cannot be reached (it closed the connection, or stopped
// answering until ctx ended) is no refusal: that error is returned.
func probeLease(ctx context.Context, c redis.UniversalClient, volID string, rep *doctorReport) error {
	if volID == "" {
		volID = "doctor-" + randomHex(8)
	}
	// A key of this run's own: two doctors at once (--peer) must not
	// delete each other's lease.
	key := leaseProbeKey + "." + randomHex(8)
	keys := locking.RedisKeys(volID, key)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		c.Del(dctx, keys.Stored()...)
	}()
	l := locking.NewRedisLocker(c, volID)
	defer l.Close()
	lease, err := l.Acquire(ctx, key, 5*time.Second)
	if err == nil {
		err = lease.Release(ctx, nil, key)
	}
	if errors.Is(err, locking.ErrUnavailable) {
		return fmt.Errorf("take and release a lease: %w", err)
	}
	if err != nil {
		rep.Problems = append(rep.Problems, "a lease cannot be taken and released: "+err.Error())
		return nil
	}
	err = locking.ClassifyRedisError(c.Publish(ctx, keys.ChangeChannel, "").Err())
	if errors.Is(err, locking.ErrUnavailable) {
		return fmt.Errorf("redis PUBLISH: %w", err)
	}
	if err != nil {
		rep.Warnings = append(rep.Warnings, "Redis refuses PUBLISH ("+err.Error()+"): leases work, but watchers and waiters learn of changes by polling only")
	}
	ps := c.Subscribe(ctx, keys.ChangeChannel)
	defer ps.Close()
	_, err = ps.Receive(ctx)
	err = locking.ClassifyRedisError(err)
	if errors.Is(err, locking.ErrUnavailable) {
		return fmt.Errorf("redis SUBSCRIBE: %w", err)
	}
	if err != nil {
		rep.Warnings = append(rep.Warnings, "Redis refuses SUBSCRIBE ("+err.Error()+"): leases work, but watchers and waiters learn of changes by polling only")
	}
	return nil
}
