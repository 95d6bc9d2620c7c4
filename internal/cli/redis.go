package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sharedwrite/sharedwrite/locking"
)

// errRedisUnavailable marks a Redis that could not be reached (exit 6).
var errRedisUnavailable = errors.New("redis unavailable")

// redisClient is the part of a go-redis client doctor and bench use.
type redisClient = redis.UniversalClient

// rttStats measures n PINGs.
type rttStats struct {
	P50 time.Duration `json:"p50_ns"`
	Max time.Duration `json:"max_ns"`
}

func measurePing(ctx context.Context, c redis.UniversalClient, n int) (rttStats, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			return rttStats{}, fmt.Errorf("redis PING: %w", locking.ClassifyRedisError(err))
		}
		ds = append(ds, time.Since(t))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return rttStats{P50: ds[len(ds)/2], Max: ds[len(ds)-1]}, nil
}

// clockSkew returns Redis TIME minus the local wall clock at the midpoint of
// the round trip, and the round trip.
func clockSkew(ctx context.Context, c redis.UniversalClient) (skew, rtt time.Duration, err error) {
	t0 := time.Now()
	rt, err := c.Time(ctx).Result()
	t1 := time.Now()
	if err != nil {
		return 0, 0, fmt.Errorf("redis TIME: %w", locking.ClassifyRedisError(err))
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	return rt.Sub(mid), t1.Sub(t0), nil
}
