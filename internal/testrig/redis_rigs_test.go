package testrig

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisPassword(t *testing.T) {
	r := StartRedis(t, "--requirepass", "s3cret")
	if got := r.Client(t).Ping(context.Background()).Err(); got != nil {
		t.Fatalf("PING with the password: %v; want nil", got)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without the password: %v; want NOAUTH", err)
	}
}

func TestRedisCluster(t *testing.T) {
	c := StartRedisCluster(t)
	if got := len(c.Addrs()); got != 3 {
		t.Fatalf("cluster nodes = %d; want 3", got)
	}
	cl := c.Client(t)
	ctx := context.Background()
	// Keys in different slots land on different masters; all must work.
	for _, k := range []string{"a", "b", "c", "{x}1", "{x}2"} {
		if err := cl.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s via the cluster: %v", k, err)
		}
	}
	if err := cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("PING each master: %v", err)
	}
}

func TestRedisSentinelFailover(t *testing.T) {
	s := StartRedisSentinel(t)
	before := s.MasterAddr(t)
	if before != s.Master.Addr() {
		t.Fatalf("sentinel master = %s; want %s", before, s.Master.Addr())
	}
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through sentinel: %v", err)
	}
	start := time.Now()
	s.Failover(t)
	after := s.MasterAddr(t)
	t.Logf("failover %s -> %s in %v", before, after, time.Since(start))
	if after == before {
		t.Fatalf("master after failover = %s; want another", after)
	}
	if isMaster(before) {
		t.Fatalf("old master %s still a master after Failover returned: writes to it would be lost", before)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Set(ctx, "k2", "v", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SET after failover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisTLS(t *testing.T) {
	for _, clientCerts := range []bool{false, true} {
		r := StartRedisTLS(t, clientCerts)
		if !strings.HasPrefix(r.URL(), "rediss://") {
			t.Fatalf("URL = %s; want rediss://", r.URL())
		}
		if err := r.Client(t).Ping(context.Background()).Err(); err != nil {
			t.Fatalf("PING over TLS (client certs %v): %v", clientCerts, err)
		}
		plain := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
		if err := plain.Ping(context.Background()).Err(); err == nil {
			t.Fatalf("PING without TLS succeeded; want an error")
		}
		plain.Close()
	}
}
