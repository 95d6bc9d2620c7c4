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
	return g.admit1(ctx, lent, nil)
}

// place is the place in the gate of an operation that runs a caller's
// function (a Lock's, an UpdateContext's, an InitOnce's): the operations
// nested in that function, made with the context it was given, run in it one
// at a time rather than waiting for a slot of their own, which could be the
// one that operation holds. It holds a value while one of them runs in it.
type place chan struct{}

// placeKey is the context key of the place of the function a context was
// given to.
type placeKey struct{ g *gate }

// withPlace returns ctx carrying a new place for the operations nested in
// the function it is given to (see place).
func (g *gate) withPlace(ctx context.Context) context.Context {
	if g.run == nil {
		return ctx
	}
	return context.WithValue(ctx, placeKey{g}, make(place, 1))
}

// enterNested admits an operation nested in a function (see place): into
// the function's place when it is free; otherwise (another nested operation
// runs in it, as when the function starts several at once) as enter does,
// beyond the bounds ErrQueueFull at once or, with wait, a wait within ctx,
// and a queued one runs in the place if that frees before a slot does.
// Nested operations so never hold more than one slot, or the place, per
// function running: however many a function starts, the operations in
// flight stay within the bounds but for the places of the functions
// running, one per nesting level.
func (g *gate) enterNested(ctx context.Context) (func(), error) {
	if g.run == nil {
		return func() {}, nil
	}
	p, _ := ctx.Value(placeKey{g}).(place)
	if p == nil {
		return g.enter(ctx)
	}
	select {
	case p <- struct{}{}:
		return func() { <-p }, nil
	default:
	}
	lent, _ := ctx.Value(lentSlot{g}).(<-chan struct{})
	return g.admit1(ctx, lent, p)
}

// admit1 takes an admission ticket and a run slot (see gate), or returns
// early when lent is closed (taking nothing) or p, when not nil, frees (taking
// it instead of the slot).
func (g *gate) admit1(ctx context.Context, lent <-chan struct{}, p place) (func(), error) {
	inPlace := func() { <-p }
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
		case p <- struct{}{}:
			return inPlace, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	select {
	case g.run <- struct{}{}:
	case <-lent:
		<-g.admit
		return func() {}, nil
	case p <- struct{}{}:
		<-g.admit
		return inPlace, nil
	case <-ctx.Done():
		<-g.admit
		return nil, context.Cause(ctx)
	}
	return func() { <-g.run; <-g.admit }, nil
}
