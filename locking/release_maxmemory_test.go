package locking

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestReleaseOverMaxmemoryFreesTheLease: a Redis over its maxmemory with the
// noeviction policy refuses the first command of a script that may grow
// memory, and a refusal ends the script where it stands. A release carrying
// a committed version must still free the lease (compare-and-delete) and
// store the version, instead of ending at the store with the lease held for
// its whole TTL. An Acquire in that state fails at once with Redis's OOM
// error, naming the step and the key.
func TestReleaseOverMaxmemoryFreesTheLease(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	r := testrig.StartRedis(t, "--maxmemory-policy", "noeviction")
	admin := testClient(t, r.Addr())
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	defer l.Close()
	const key, ttl = "cfg/app.json", 30 * time.Second
	keys := l.Keys(key)

	le, err := l.Acquire(ctx, key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	// Any memory in use is now over the limit.
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	defer admin.ConfigSet(ctx, "maxmemory", "0")
	if err := admin.Set(ctx, "probe", "x", 0).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("SET over maxmemory: %v; want an OOM refusal (the scenario did not happen)", err)
	}

	v := Version{Token: le.Token(), LeaseID: le.ID(), SHA256: [32]byte{7}, Size: 3, Length: 3, Host: "h", PID: 1, Time: time.Unix(1700000000, 0).UTC()}
	if err := le.Release(ctx, &v, key); err != nil {
		t.Errorf("Release with a committed version over maxmemory: %v; want nil", err)
	}
	if n, err := admin.Exists(ctx, keys.Lock).Result(); err != nil || n != 0 {
		t.Fatalf("lock key after the release: exists %d, %v; want gone (held until its TTL otherwise)", n, err)
	}
	got, err := admin.Get(ctx, keys.Commit).Result()
	if err != nil || !strings.Contains(got, le.ID()) {
		t.Errorf("committed version in Redis after the release: %q, %v; want the released version", got, err)
	}

	_, err = l.Acquire(ctxTimeout(t, 5*time.Second), key, ttl)
	if err == nil {
		t.Fatal("Acquire over maxmemory succeeded; want Redis's OOM refusal")
	}
	var e *Error
	if msg := err.Error(); !strings.Contains(msg, "maxmemory") || !errors.As(err, &e) || e.Op != "acquire" || e.Key != key {
		t.Errorf("Acquire over maxmemory: %q (%T); want an *Error for step acquire, key %s, with Redis's maxmemory refusal", msg, err, key)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("Acquire over maxmemory: %v wraps ErrUnavailable; want Redis's refusal as it is (Redis was reached)", err)
	}

	// Once memory is free again the key is free at once.
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	next, err := l.Acquire(ctxTimeout(t, 2*time.Second), key, ttl)
	if err != nil {
		t.Fatalf("Acquire after the release: %v; want the lease at once", err)
	}
	next.Release(ctx, nil, key)
}
