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

// lentSlot is the context key of a channel that is closed once the operation
// may run in the slot of an operation that already holds one of g's: an
// Appender's batch holding a record appended from the function of a Lock (or
// of an UpdateContext, an InitOnce), whose caller waits in that slot for the
// batch. Waiting for a slot of its own, the batch would wait for that
// operation itself.
type lentSlot struct{ g *gate }

// withLentSlot returns ctx carrying lent (see lentSlot).
func withLentSlot(ctx context.Context, g *gate, lent <-chan struct{}) context.Context {
	return context.WithValue(ctx, lentSlot{g}, lent)
}

// enter admits one operation or returns ErrQueueFull at once (or, with wait,
// waits within ctx). The returned func releases what was taken. An operation
// lent a slot (lentSlot) takes none, also when it is lent one while it waits.
func (g *gate) enter(ctx context.Context) (func(), error) {
	if g.run == nil {
		return func() {}, nil
	}
	lent, _ := ctx.Value(lentSlot{g}).(<-chan struct{}) // nil: never lent
	select {
	case <-lent:
		return func() {}, nil
	default:
	}
	select {
	case g.admit <- struct{}{}:
	default:
		if !g.wait {
			return nil, ErrQueueFull
		}
		select {
		case g.admit <- struct{}{}:
		case <-lent:
			return func() {}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	select {
	case g.run <- struct{}{}:
	case <-lent:
		<-g.admit
		return func() {}, nil
	case <-ctx.Done():
		<-g.admit
		return nil, context.Cause(ctx)
	}
	return func() { <-g.run; <-g.admit }, nil
}
