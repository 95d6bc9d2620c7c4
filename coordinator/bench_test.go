package coordinator

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// BenchmarkWrite compares a coordinated WriteFile (local and Redis mode) with
// the bare atomic write (temp + fsync + rename + directory fsync) of the same
// payload in the same directory, and a Redis PING measured in the same run.
//
// SHAREDWRITE_BENCH_DIR puts the roots on another filesystem (e.g. a tmpfs, to
// see the coordination overhead without the disk's fsync cost).
func BenchmarkWrite(b *testing.B) {
	tempDir := func(b *testing.B) string {
		parent := os.Getenv("SHAREDWRITE_BENCH_DIR")
		if parent == "" {
			return b.TempDir()
		}
		d, err := os.MkdirTemp(parent, "bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	payload := make([]byte, 4096)
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		c := open(b, local, tempDir(b))
		w := c.Writer()
		for b.Loop() {
			if err := w.WriteFile(ctx, "f", payload, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range modes {
		b.Run("coordinated-"+string(m), func(b *testing.B) {
			c := open(b, m, tempDir(b))
			for b.Loop() {
				if err := c.WriteFile(ctx, "f", payload, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("redis-ping", func(b *testing.B) {
		cl := redis.NewClient(&redis.Options{Addr: needRedis(b).Addr(), DisableIdentity: true})
		defer cl.Close()
		for b.Loop() {
			if err := cl.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
