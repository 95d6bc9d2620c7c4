package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A handoff measurement cut short by its context is no measurement: it
// returns the context's cause, never a success whose Throughput divides the
// acquisitions of the part that ran by the whole requested duration.
func TestMeasureHandoffCancelledIsNoResult(t *testing.T) {
	srv := needRedis(t)
	c, err := locking.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := locking.NewRedisLocker(c, fmt.Sprintf("handoff-cancel-%d", time.Now().UnixNano()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const dur = 6 * time.Second
	start := time.Now()
	time.AfterFunc(1500*time.Millisecond, cancel) // well past the 50 serial cycles
	st, err := locking.MeasureHandoff(ctx, l, "k", 2, time.Millisecond, time.Millisecond, dur)
	took := time.Since(start)
	if err == nil {
		t.Errorf("MeasureHandoff cancelled after %v of a %v run: err = nil; stats %+v (Throughput %.0f/s over %v, though the run lasted %v)",
			took.Round(time.Millisecond), dur, st, st.Throughput, st.Duration, took.Round(time.Millisecond))
	}
}
