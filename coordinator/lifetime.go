package coordinator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// lifetime counts a Coordinator's running operations and open streaming
// Files, so that Close can end them and close the handles only after the last
// one is done with them.
type lifetime struct {
	mu   sync.Mutex
	idle *sync.Cond // signalled when running drops to 0

	// closing: Close was called, nothing new begins. Set under mu, read
	// without it too (c.isClosed).
	closing atomic.Bool
	running int  // operations between begin and their end
	files   int  // Files between Create and their Commit or Abort
	gone    bool // the handles were closed (by Close or by the last File)
	cancels map[uint64]context.CancelCauseFunc
	next    uint64

	appenders map[*Appender]struct{} // not closed yet: Close closes them

	closed   chan struct{} // closed when the first Close returns
	closeErr error         // what it returned
}

func newLifetime() *lifetime {
	l := &lifetime{
		cancels:   make(map[uint64]context.CancelCauseFunc),
		closed:    make(chan struct{}),
		appenders: make(map[*Appender]struct{}),
	}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// begin admits an operation: ctx comes back cancelled with cause ErrClosed
// when Close is called, and done must be called when the operation returns.
// After Close it returns ErrClosed.
func (c *Coordinator) begin(ctx context.Context) (_ context.Context, done func(), _ error) {
	return c.enter(ctx, false)
}

// openFile admits a streaming File: as begin, but Close does not wait for it
// (its writes and Commit fail with ErrClosed once Close is called); the
// handles stay open until done, which the File's Commit or Abort calls.
func (c *Coordinator) openFile(ctx context.Context) (_ context.Context, done func(), _ error) {
	return c.enter(ctx, true)
}

func (c *Coordinator) enter(ctx context.Context, file bool) (context.Context, func(), error) {
	l := c.life
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	if l.closing.Load() {
		l.mu.Unlock()
		cancel(ErrClosed)
		return ctx, nil, ErrClosed
	}
	id := l.next
	l.next++
	l.cancels[id] = cancel
	if file {
		l.files++
	} else {
		l.running++
	}
	l.mu.Unlock()
	return ctx, func() {
		l.mu.Lock()
		delete(l.cancels, id)
		last := false
		if file {
			l.files--
			last = l.lastOut()
		} else if l.running--; l.running == 0 {
			l.idle.Broadcast()
		}
		l.mu.Unlock()
		cancel(context.Canceled)
		if last {
			if err := c.closeHandles(); err != nil {
				c.log.Warn("closing the coordinator's handles after its last open file", "err", err)
			}
		}
	}, nil
}

// isClosed reports whether Close was called.
func (c *Coordinator) isClosed() bool { return c.life.closing.Load() }

// lastOut reports, once, that the coordinator is closing and nothing uses
// its handles any more: the caller closes them. l.mu is held.
func (l *lifetime) lastOut() bool {
	if !l.closing.Load() || l.running > 0 || l.files > 0 || l.gone {
		return false
	}
	l.gone = true
	return true
}

// Close ends the coordinator. New operations fail with ErrClosed. Running
// ones have their context cancelled with cause ErrClosed: one that has not
// reached its commit point undoes its work and returns ErrClosed, one past it
// finishes its commit. Close returns when they all are done: a Lock, Update
// or Watch function that ignores its ctx delays it, and one that calls Close
// would wait for itself. Appenders not closed yet are closed: the records
// still queued fail with ErrClosed. A streaming File still open fails its
// writes and Commit with ErrClosed and keeps the handles it needs until its
// Commit or Abort, which the caller must still call. Then Close releases the
// coordinator's handles and the Redis locker's pub/sub connection (and the
// Redis client it built from a URL; a client given with WithRedis stays
// open).
func (c *Coordinator) Close() error {
	l := c.life
	l.mu.Lock()
	if l.closing.Load() {
		// Another Close: it returns what the first returns, when it does.
		l.mu.Unlock()
		<-l.closed
		return l.closeErr
	}
	defer close(l.closed)
	l.closing.Store(true)
	for _, cancel := range l.cancels {
		cancel(ErrClosed)
	}
	for l.running > 0 {
		l.idle.Wait()
	}
	apps := make([]*Appender, 0, len(l.appenders))
	for a := range l.appenders {
		apps = append(apps, a)
	}
	l.mu.Unlock()
	for _, a := range apps {
		a.Close() //nolint:errcheck // its queued records fail with ErrClosed
	}
	l.mu.Lock()
	last := l.lastOut()
	l.mu.Unlock()
	if !last {
		return nil // the last open File closes the handles
	}
	l.closeErr = c.closeHandles()
	return l.closeErr
}

// closeHandles closes what Open opened.
func (c *Coordinator) closeHandles() error {
	var errs []error
	if c.adoptedFL != nil {
		errs = append(errs, c.adoptedFL.Close())
	}
	if c.locks != nil {
		errs = append(errs, c.locks.Close())
	}
	if c.root != nil {
		errs = append(errs, c.root.Close())
	}
	if l, ok := c.locker.(interface{ Close() error }); ok {
		// The Redis locker's pub/sub connection and its reader, also when
		// the caller supplied the client.
		errs = append(errs, l.Close())
	}
	if c.ownClient != nil {
		errs = append(errs, closeClient(c.ownClient))
	}
	return errors.Join(errs...)
}

// closeClient closes a Redis client the coordinator opened, waiting at most
// clientCloseBound: a Sentinel client's Close waits for a master lookup in
// progress, which go-redis bounds by its dial timeout only (a sentinel that
// accepts connections and never answers holds it that long). Such a close
// then ends in the background.
func closeClient(c interface{ Close() error }) error {
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(clientCloseBound):
		return nil
	}
}

// clientCloseBound is how long Close waits for the Redis client it opened to
// close.
const clientCloseBound = 250 * time.Millisecond
