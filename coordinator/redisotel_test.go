package coordinator

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// A committed write in Redis mode records no failed span: go-redis's own
// connection set-up (HELLO, CLIENT SETINFO, which Redis before 7.2 refuses)
// gets no span, nor does the pool's dial, which had been the root of a
// trace of its own.
func TestRedisSpansOfACommittedWrite(t *testing.T) {
	r := needRedis(t)
	ctx := ctxT(t, 30*time.Second)
	root := t.TempDir()
	// The scripts loaded (a server that has never run them answers the
	// first EVALSHA with NOSCRIPT, a real error span), by another client.
	open(t, rds, root).WriteFile(ctx, "warm", []byte("w"), 0o644)

	tel := newTelRig(t)
	c, err := Open(ctx, root, append(tel.opts(), WithRedisURL(r.URL()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WriteFile(ctx, "f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range tel.spans.Ended() {
		names = append(names, s.Name())
		if s.Status().Code == codes.Error {
			t.Errorf("span %q has status Error (%s) in a committed write", s.Name(), s.Status().Description)
		}
		if n := strings.ToLower(s.Name()); strings.HasPrefix(n, "redis.dial") || strings.HasPrefix(n, "hello") || strings.HasPrefix(n, "client") || strings.Contains(n, "pipeline client") {
			t.Errorf("span %q: connection set-up recorded", s.Name())
		}
	}
	if !strings.Contains(strings.Join(names, " "), "evalsha") {
		t.Fatalf("no evalsha span among %q: the client is not instrumented, nothing is tested", names)
	}
}
