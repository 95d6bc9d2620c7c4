package coordinator

import (
	"context"
	"math"
)

// gate bounds the operations in flight and queued. An operation first takes an
// admission ticket (maxInFlight+maxQueued of them), then a run slot (maxInFlight
// of them); holding a ticket without a slot is being queued. The zero gate (no
// limits) admits everything.
type gate struct {
	admit chan struct{}
	run   chan struct{}
	wait  bool
}

func newGate(maxInFlight, maxQueued int, wait bool) *gate {
	if maxInFlight <= 0 {
		return &gate{}
	}
	// maxInFlight+maxQueued tickets: a queue bound past what that sum can
	// hold (math.MaxInt, for no bound) is as many as it can.
	maxQueued = min(max(maxQueued, 0), math.MaxInt-maxInFlight)
	return &gate{
		admit: make(chan struct{}, maxInFlight+maxQueued),
		run:   make(chan struct{}, maxInFlight),
		wait:  wait,
	}
}

// enter admits one operation or returns ErrQueueFull at once (or, with wait,
// waits within ctx). The returned func releases what was taken.
func (g *gate) enter(ctx context.Context) (func(), error) {
	if g.run == nil {
		return func() {}, nil
	}
	select {
	case g.admit <- struct{}{}:
	default:
		if !g.wait {
			return nil, ErrQueueFull
		}
		select {
		case g.admit <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	select {
	case g.run <- struct{}{}:
	case <-ctx.Done():
		<-g.admit
		return nil, context.Cause(ctx)
	}
	return func() { <-g.run; <-g.admit }, nil
}
