package coordinator

import (
	"errors"
	"math"
	"testing"
	"time"
)

// A queue bound as large as an int holds (math.MaxInt: "no bound on the
// queue") opens, and an operation beyond the in-flight bound is queued, not
// refused.
func TestLimitsWithLargestQueueBound(t *testing.T) {
	for _, inFlight := range []int{1, 2} {
		var c *Coordinator
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("Open with WithLimits(%d, math.MaxInt) panicked: %v", inFlight, p)
				}
			}()
			c = open(t, local, t.TempDir(), WithLimits(inFlight, math.MaxInt))
		}()
		ctx := ctxT(t, 30*time.Second)
		var releases []func() error
		for i := range inFlight {
			releases = append(releases, holdKey(t, c, string(rune('a'+i))))
		}
		queued := make(chan error, 1)
		go func() { queued <- c.WriteFile(ctx, "q", []byte("q"), 0o644) }()
		select {
		case err := <-queued:
			if errors.Is(err, ErrQueueFull) {
				t.Fatalf("WriteFile beyond %d in flight with a queue bound of math.MaxInt: %v; want it queued", inFlight, err)
			}
			t.Fatalf("WriteFile ran while %d operations held every slot: %v", inFlight, err)
		case <-time.After(50 * time.Millisecond):
		}
		for _, release := range releases {
			if err := release(); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-queued; err != nil {
			t.Fatalf("queued WriteFile: %v", err)
		}
		checkGateEmpty(t, c)
	}
}
