package coordinator

import (
	"testing"
	"time"
)

// A panic in an Update function goes on up to the caller, and the key is
// released on the way: a caller that recovers it (net/http does, for every
// handler) must not leave the key held, its lease refreshed, until the
// process exits.
func TestPanicInUpdateReleasesKey(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithLeaseTTL(time.Minute))
			var got any
			func() {
				defer func() { got = recover() }()
				_ = c.Update(ctxT(t, 5*time.Second), "k", func([]byte, bool) ([]byte, error) {
					panic("bug in the callback")
				})
			}()
			if got != "bug in the callback" {
				t.Fatalf("recovered %v; want the callback's panic", got)
			}
			other := open(t, m, root)
			if err := other.WriteFile(ctxT(t, 5*time.Second), "k", []byte("x"), 0o644); err != nil {
				t.Fatalf("write after a panicked Update (lease TTL 1 min): %v", err)
			}
		})
	}
}
