package coordinator

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// A coordinated write costs two Redis round trips: the acquire script and the
// release script (which also stores the committed record and publishes).
func TestWriteIsTwoRedisRoundTrips(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	_, root, cl := ownRedisVolume(t, ctx)
	c, err := Open(ctx, root, WithRedis(cl))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteFile(ctx, "f", []byte("warm-up"), 0o644); err != nil { // loads the scripts
		t.Fatal(err)
	}
	if err := cl.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		if err := c.WriteFile(ctx, "f", []byte(strconv.Itoa(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := cl.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, m := range regexp.MustCompile(`cmdstat_(evalsha|eval|fcall|ping|get|set|hget|hset|incr|publish):calls=(\d+)`).FindAllStringSubmatch(stats, -1) {
		if m[1] == "evalsha" || m[1] == "eval" || m[1] == "fcall" {
			k, _ := strconv.Atoi(m[2])
			calls += k
		}
	}
	if calls != 2*n {
		t.Fatalf("%d script calls for %d writes; want %d (acquire + release each)\n%s", calls, n, 2*n, stats)
	}
}
