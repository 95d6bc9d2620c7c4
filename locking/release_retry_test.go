package locking

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestReleaseRetriedWhileTheServerIsAReplica: a release that reaches a server
// refusing writes for a moment (READONLY: a master just demoted in a
// failover, or as here made a replica and back) is retried until the server
// takes writes again. The key is then free at once, and the committed version
// is stored, instead of the key staying held for the lease's whole TTL and
// the change going unpublished.
func TestReleaseRetriedWhileTheServerIsAReplica(t *testing.T) {
	r, admin, l, le := leaseOnADemotedServer(t, 30*time.Second)
	vol, ctx := l.volumeID, context.Background()
	if err := admin.Set(ctx, vol+":probe", "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("a write to the replica: %v, want READONLY", err)
	}
	back := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		back <- admin.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err()
	}()
	v := &Version{Token: le.Token(), LeaseID: le.ID(), Size: 1, Length: 1, Generation: 1, Time: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := le.Release(rctx, v, "k"); err != nil {
		t.Fatalf("release across the read-only moment: %v", err)
	}
	if err := <-back; err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(ctx, time.Second)
	defer acancel()
	le2, err := NewRedisLocker(testClient(t, r.Addr()), vol).Acquire(actx, "k", time.Second)
	if err != nil {
		t.Fatalf("the key is still held after the release: %v", err)
	}
	le2.Release(ctx, nil, "k")
	got, err := admin.Get(ctx, l.Keys("k").Commit).Result()
	if err != nil || !strings.HasPrefix(got, `{"token":`+strconv.FormatUint(v.Token, 10)+`,`) {
		t.Fatalf("committed version in Redis: %q, %v; want token %d", got, err, v.Token)
	}
}

// A release that keeps meeting READONLY (a client left pointed at a demoted
// master) gives up once the lease's TTL has passed, whatever its context:
// the key expires by itself by then.
func TestReleaseRetriesEndWithTheTTL(t *testing.T) {
	_, _, _, le := leaseOnADemotedServer(t, time.Second)
	// A deadline far past the TTL: retries that ignored the TTL fail the
	// test below instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := le.Release(ctx, &Version{Token: le.Token(), LeaseID: le.ID(), Time: time.Now()}, "k")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("release against a replica for good: %v; want its READONLY", err)
	}
	if took < 500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("release gave up after %v; want about the 1s TTL", took)
	}
}

// leaseOnADemotedServer takes a lease for ttl on a server of its own, then
// makes that server a replica of a port no server listens on: it keeps its
// data and refuses writes (READONLY), as a master demoted in a failover. It
// returns the server, a client of it, the locker and the lease.
func leaseOnADemotedServer(t *testing.T, ttl time.Duration) (*testrig.Redis, *redis.Client, *RedisLocker, Lease) {
	t.Helper()
	r := testrig.StartRedis(t)
	admin := testClient(t, r.Addr())
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := context.Background()
	le, err := l.Acquire(ctx, "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	port, err := testrig.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "REPLICAOF", "NO", "ONE") })
	return r, admin, l, le
}

// A retry that the TTL's end cuts off while it waits for the server (here a
// script keeps the server busy across that moment) says, besides the cut-off
// (its outcome is unknown), what the server last answered: READONLY.
func TestReleaseRetryCutOffSaysTheLastReply(t *testing.T) {
	_, admin, _, le := leaseOnADemotedServer(t, time.Second)
	start := time.Now()
	busy := make(chan error, 1)
	go func() {
		time.Sleep(800 * time.Millisecond)
		busy <- admin.EvalRO(context.Background(), `local s = redis.call('TIME')
local t0 = s[1] * 1000000 + s[2]
while true do
  local n = redis.call('TIME')
  if n[1] * 1000000 + n[2] - t0 > 600000 then return 1 end
end`, nil).Err()
	}()
	err := le.Release(context.Background(), &Version{Token: le.Token(), LeaseID: le.ID(), Time: time.Now()}, "k")
	took := time.Since(start)
	if berr := <-busy; berr != nil {
		t.Fatalf("the busy script: %v", berr)
	}
	if err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("release cut off by the TTL: %v; want the server's READONLY", err)
	}
	if took > 5*time.Second {
		t.Fatalf("release gave up after %v; want about the 1s TTL", took)
	}
}
