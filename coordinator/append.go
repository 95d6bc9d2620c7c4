package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// ErrAppenderClosed: Append was called after Close.
var ErrAppenderClosed = errors.New("coordinator: appender closed")

// ErrAppendAborted: the record was queued behind a batch that failed, and was
// not written (the error also wraps that batch's error).
var ErrAppendAborted = errors.New("coordinator: append aborted: an earlier batch failed")

// ErrOutcomeUnknown: an append batch or a rotation failed after its pending
// version reached the lock record, and that version could not be withdrawn
// (the record's write failed again, or the lease was lost so the record must
// not be touched). Nothing says whether it takes effect: the next holder of
// the key finds it pending and may commit it (an append's data was fsynced
// before its pending version was written) or complete it (a rotation). A
// caller that retries may write a record twice.
var ErrOutcomeUnknown = errors.New("coordinator: outcome unknown: the pending version may be committed by the next holder of the key")

// Appender appends records to one file with group commit: records from many
// goroutines are gathered into batches, and each batch is committed under the
// key's lease and lock — truncate anything past the committed length (a tail a
// crashed appender left unacknowledged), pwrite the batch at exactly the
// committed length (never O_APPEND: on NFS it uses a cached size), fsync,
// record the new length in the lock record (and, on release, in Redis).
// Appenders in other processes and on other hosts share the file through the
// same record; a rotation (Rotate) bumps the record's generation, and every
// appender compares it before writing, so no record goes to a rotated file.
//
// A record is written as given: for a line log, end it with '\n'. Records of
// one goroutine keep their order; records of a batch are contiguous, and a
// batch is never split. When a batch fails, the records already queued behind
// it fail too (ErrAppendAborted), so that no record is committed after an
// earlier one of its goroutine was lost; records queued after that start
// afresh. An Appender is safe for concurrent use.
type Appender struct {
	c    *Coordinator
	name string
	cfg  logConfig

	mu     sync.Mutex
	queue  []*appendReq
	closed bool
	wake   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	// run is the batch whose lease and lock are being taken or held (nil
	// between batches); guarded by mu.
	run *batchRun

	// Owned by the flushing goroutine.
	file        *logFile
	post        sync.WaitGroup
	unrotatable bool // the name is too long to rotate (warned once)
}

// batchRun is one batch's commit as its callers may need it: the last
// caller to withdraw before the batch took its records ends the wait for the
// key (cancel), and learns from err, set before done is closed, what the
// wait was for. took and ended are guarded by the Appender's mu: a batch
// that took its records is not ended by a withdrawal, and one that was ended
// takes none (those that arrived since go to the next batch). lent is closed,
// under mu, once a record whose caller holds a slot of the gate waits for
// the batch (appendReq.inSlot): the batch then runs in that slot (lentSlot).
type batchRun struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error
	took   bool
	ended  bool
	lent   chan struct{}
}

// lend closes br.lent once; the Appender's mu is held.
func (br *batchRun) lend() {
	select {
	case <-br.lent:
	default:
		close(br.lent)
	}
}

type appendReq struct {
	rec   []byte
	at    time.Time
	taken atomic.Bool // in a batch (or cancelled): no longer the caller's to withdraw
	res   chan error
	// inSlot: appended with the context of a Lock function of the
	// Coordinator (or of an UpdateContext or InitOnce function), whose
	// operation holds a slot of the gate while its caller waits here.
	inSlot bool
}

// CheckName returns the error an operation on name would give for the name
// itself — invalid, outside the root, the volume's metadata, not a regular
// file — or nil, without taking its lease. An Appender resolves its name only
// at its first batch: a caller with nothing to append yet can check it here.
func (c *Coordinator) CheckName(name string) error {
	key, err := c.resolve(name)
	if err != nil {
		return err
	}
	_, err = c.regularOrAbsent("check", key)
	return err
}

// Appender returns an appender for name. It starts one goroutine, which Close
// (the Appender's, or the Coordinator's) stops. Options: MaxBatchBytes, MaxBatchDelay, BatchTimeout, Framed, LogPerm
// or LogMode, RotateAtSize (with Keep, MaxAge, Gzip).
func (c *Coordinator) Appender(name string, opts ...LogOption) *Appender {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Appender{
		c: c, name: name, cfg: newLogConfig(opts),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	l := c.life
	l.mu.Lock()
	if l.closing.Load() {
		a.closed = true // Appends fail with ErrAppenderClosed
	} else {
		l.appenders[a] = struct{}{}
	}
	l.mu.Unlock()
	go a.loop()
	return a
}

// Append appends record and returns once the batch holding it is committed
// (nil), or with the batch's error (nothing of that batch is committed: its
// pending version is withdrawn from the lock record and whatever of it reached
// the file is truncated, now or by the next batch), or ErrAppendAborted when
// an earlier batch failed while it was queued. The one exception is an error
// wrapping ErrOutcomeUnknown: the batch's pending version could not be
// withdrawn, and the next holder of the key may commit it (or, having taken
// the key meanwhile, may have committed it already). An error wrapping
// ErrDurabilityUnconfirmed (a size rotation before the batch whose directory
// fsync was refused) says the batch is committed, and the records queued
// behind it go on. When ctx ends while
// the record still waits for a batch, it is withdrawn and ctx's error
// returned — when it was the last record waiting and its batch was still
// waiting for the key, the error of that wait (ErrNotObtained naming the
// holder, or ErrUnavailable), which wraps ctx's; a batch starts once the log's lease and lock are held (its records
// are taken then), and from then on Append waits for the batch's outcome.
// With the context of a Lock on the log's own key it is refused at once
// (EDEADLK): the Appender commits under its own lease, which would wait for
// that Lock. With the context of a Lock on another key (or of an
// UpdateContext or InitOnce function), the batch holding the record runs in
// that operation's place in WithLimits's bounds, as the operations nested in
// it do: it does not wait for a slot that operation holds.
func (a *Appender) Append(ctx context.Context, record []byte) error {
	if err := a.heldByLock(ctx); err != nil {
		return err
	}
	r, err := a.enqueue(record, ctx.Value(inLock{a.c}) != nil)
	if err != nil {
		return err
	}
	select {
	case err := <-r.res:
		return err
	case <-ctx.Done():
		if r.taken.CompareAndSwap(false, true) {
			return a.withdrawn(ctx)
		}
		return <-r.res
	}
}

// withdrawn is the error of an Append whose ctx ended before its record was
// taken into a batch. When no other record waits, the batch's wait for the
// key ends too, and its error — the holder of the key, or Redis not
// answering (ErrUnavailable), with ctx's cause — is the Append's, as for the
// other operations; otherwise (or when that wait does not end within
// releaseGrace) it is ctx's cause.
func (a *Appender) withdrawn(ctx context.Context) error {
	cause := context.Cause(ctx)
	a.mu.Lock()
	br := a.run
	if br != nil && br.took {
		br = nil
	}
	for _, q := range a.queue {
		if br != nil && !q.taken.Load() {
			br = nil // another caller still waits for the batch
		}
	}
	if br != nil {
		br.ended = true
	}
	a.mu.Unlock()
	if br != nil {
		br.cancel(cause)
		t := time.NewTimer(releaseGrace)
		defer t.Stop()
		select {
		case <-br.done:
			if errors.Is(br.err, ErrUnavailable) || errors.Is(br.err, ErrNotObtained) {
				return br.err
			}
		case <-t.C:
		}
	}
	return wrap("append", a.name, cause)
}

// heldByLock refuses an Append made with the context of a Lock on the log's
// own key, or of the function of an operation holding it (UpdateContext,
// InitOnce): the Appender commits from its own goroutine, under its own
// lease, and would wait for that Lock or operation to end (until
// BatchTimeout).
func (a *Appender) heldByLock(ctx context.Context) error {
	if ctx.Value(inLock{a.c}) == nil {
		return nil
	}
	key, err := a.c.resolve(a.name)
	if err != nil {
		return nil // the batch reports it
	}
	if _, ok := ctx.Value(heldKey{a.c, key}).(*held); ok {
		return wrap("append", key, fmt.Errorf("the log is held by the enclosing Lock, and an Appender commits from its own goroutine, under its own lease: it would wait for that Lock to end (append outside the Lock): %w", syscall.EDEADLK))
	}
	if ctx.Value(ownKey{a.c, key}) != nil {
		return wrap("append", key, fmt.Errorf("made with the context of the function of an operation that holds the log (UpdateContext, InitOnce), it would wait for that operation to end: %w", syscall.EDEADLK))
	}
	return nil
}

// AppendAsync queues record and returns a channel that receives its outcome
// (as Append's) once. It never blocks; records queued by one goroutine keep
// their order.
func (a *Appender) AppendAsync(record []byte) <-chan error {
	r, err := a.enqueue(record, false)
	if err != nil {
		ch := make(chan error, 1)
		ch <- err
		return ch
	}
	return r.res
}

func (a *Appender) enqueue(record []byte, inSlot bool) (*appendReq, error) {
	if a.cfg.framed && int64(len(record)) > maxFramePayload {
		return nil, wrap("append", a.name, fmt.Errorf("a framed record holds at most %d bytes, not %d: %w", int64(maxFramePayload), len(record), syscall.EFBIG))
	}
	r := &appendReq{rec: append([]byte(nil), record...), at: time.Now(), res: make(chan error, 1), inSlot: inSlot}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, wrap("append", a.name, ErrAppenderClosed)
	}
	a.queue = append(a.queue, r)
	if br := a.run; inSlot && br != nil && !br.took && !br.ended {
		br.lend() // the batch will take r: its wait for a slot ends
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return r, nil
}

// Close commits the records already queued, waits for them and for the
// compression and retention of rotations this appender made, and releases the
// appender's file. Appends after Close fail with ErrAppenderClosed.
func (a *Appender) Close() error {
	a.mu.Lock()
	already := a.closed
	a.closed = true
	a.mu.Unlock()
	if !already {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
	<-a.done
	a.post.Wait()
	a.cancel()
	l := a.c.life
	l.mu.Lock()
	delete(l.appenders, a)
	l.mu.Unlock()
	return nil
}

// loop gathers batches and commits them one at a time: records that arrive
// while a batch commits form the next one, which is what makes the commit a
// group commit.
func (a *Appender) loop() {
	defer close(a.done)
	defer func() { a.file.close() }()
	for a.nextBatch() {
		// The batch is taken from the queue once the key is held, not
		// before: a record whose caller gives up while the lease or the
		// lock is awaited is still withdrawn, and the records that arrive
		// meanwhile join the batch.
		var batch []*appendReq
		take := func() []byte {
			batch = a.take()
			if len(batch) == 0 {
				return nil
			}
			return batchData(batch, a.cfg.framed)
		}
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.batchTimeout)
		ctx, cancelCause := context.WithCancelCause(ctx)
		br := &batchRun{cancel: cancelCause, done: make(chan struct{}), lent: make(chan struct{})}
		ctx = withLentSlot(ctx, a.c.gate, br.lent)
		a.mu.Lock()
		a.run = br
		for _, r := range a.queue {
			if r.inSlot && !r.taken.Load() {
				br.lend()
			}
		}
		a.mu.Unlock()
		err := a.commit(ctx, take)
		a.mu.Lock()
		a.run = nil
		ended := br.ended
		a.mu.Unlock()
		lent := false
		select {
		case <-br.lent:
			lent = true
		default:
		}
		br.err = err
		close(br.done)
		cancelCause(nil)
		cancel()
		if ended {
			// Every caller withdrew before the key was held and the last
			// one ended the wait: nothing was taken, and the records that
			// arrived since go to the next batch.
			continue
		}
		if batch == nil && lent && errors.Is(err, ErrQueueFull) {
			// Refused a slot just before a record whose caller holds one
			// arrived: the records stay queued, and the next batch runs in
			// that caller's slot.
			continue
		}
		if batch == nil && err != nil {
			// Failed before the key was held: the records that would have
			// gone get its error.
			batch = a.take()
		}
		if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			// (A batch whose directory fsync was refused is committed:
			// the records behind it go on.)
			a.abortQueued(err)
		}
		for _, r := range batch {
			r.res <- err
		}
	}
}

// batchData is the bytes of batch, behind a frame header when framed. The
// buffer is sized from the records taken, never from MaxBatchBytes, which
// may be far larger than any batch (math.MaxInt: no limit).
func batchData(batch []*appendReq, framed bool) []byte {
	n := 0
	for _, r := range batch {
		n += len(r.rec)
	}
	hdr := 0
	if framed {
		hdr = frameHeader
	}
	data := make([]byte, hdr, hdr+n)
	for _, r := range batch {
		data = append(data, r.rec...)
	}
	if framed {
		putFrameHeader(data)
	}
	return data
}

// abortQueued fails the records queued behind a batch that failed with err,
// before that batch's callers learn of it.
func (a *Appender) abortQueued(err error) {
	a.mu.Lock()
	behind := a.queue
	a.queue = nil
	a.mu.Unlock()
	for _, r := range behind {
		if r.taken.CompareAndSwap(false, true) {
			r.res <- wrap("append", a.name, fmt.Errorf("%w (%w)", ErrAppendAborted, err))
		}
	}
}

// nextBatch waits for a first record, then for more until the batch is full,
// its first record has waited MaxBatchDelay, or the appender is closed; the
// batch is then taken (take) once the key is held. It is false once the
// appender is closed and drained.
func (a *Appender) nextBatch() bool {
	for {
		a.mu.Lock()
		for len(a.queue) > 0 && a.queue[0].taken.Load() {
			a.queue = a.queue[1:] // withdrawn by its caller
		}
		n, closed := len(a.queue), a.closed
		var first time.Time
		if n > 0 {
			first = a.queue[0].at
		}
		size := 0
		for _, r := range a.queue {
			size += len(r.rec)
		}
		a.mu.Unlock()
		if n == 0 {
			if closed {
				return false
			}
			<-a.wake
			continue
		}
		wait := time.Until(first.Add(a.cfg.maxDelay))
		if size < a.cfg.maxBytes && !closed && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-a.wake:
			case <-t.C:
			}
			t.Stop()
			if time.Until(first.Add(a.cfg.maxDelay)) > 0 {
				continue
			}
		}
		return true
	}
}

// take removes up to MaxBatchBytes of records (at least one) from the queue,
// skipping withdrawn ones.
func (a *Appender) take() []*appendReq {
	a.mu.Lock()
	defer a.mu.Unlock()
	if br := a.run; br != nil {
		if br.ended {
			return nil
		}
		br.took = true
	}
	var batch []*appendReq
	size, i := 0, 0
	for ; i < len(a.queue); i++ {
		r := a.queue[i]
		if len(batch) > 0 && size+len(r.rec) > a.cfg.maxBytes {
			break
		}
		if !r.taken.CompareAndSwap(false, true) {
			continue // withdrawn by its caller
		}
		batch = append(batch, r)
		size += len(r.rec)
	}
	a.queue = append(a.queue[:0:0], a.queue[i:]...)
	return batch
}

// logFile is the appender's open live file and the rotation generation it
// was opened under.
type logFile struct {
	f   *os.File
	gen uint64
}

func (l *logFile) close() {
	if l != nil && l.f != nil {
		l.f.Close() //nolint:errcheck // read-only use after the last fsync
		l.f = nil
	}
}
