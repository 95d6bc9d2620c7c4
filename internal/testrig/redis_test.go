package testrig

import (
	"context"
	"testing"
)

func TestRedisStartKillRestart(t *testing.T) {
	r := StartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	n, err := c.Exists(ctx, "k").Result()
	if err != nil {
		t.Fatalf("EXISTS after restart: %v", err)
	}
	if n != 0 {
		t.Fatalf("EXISTS k after a restart without persistence = %d; want 0", n)
	}
	r.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatalf("PING after Kill succeeded; want an error")
	}
}
