package locking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/bootclock"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

type leaseState int

const (
	held leaseState = iota
	lost
	ended // released or abandoned
)

var errEnded = fmt.Errorf("%w: lease released", ErrNotHeld)

// redisLease is a lease held in Redis, kept alive by a watchdog goroutine.
type redisLease struct {
	l       *RedisLocker
	key     string
	keys    Keys
	args    *leaseArgs // keys, id and ttl as script arguments
	id      string
	ttl     time.Duration
	adopted bool

	// committedJSON is the committed record the acquire script returned,
	// decoded on the first call to Committed: a plain write never needs it.
	committedJSON string
	committedOnce sync.Once
	committed     Version
	hasCommitted  bool

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	// The watchdog (leaseWatchdog) calls tick, which refreshes and schedules
	// the next tick; ctx bounds its calls, and is cancelled when the lease
	// ends, right after the watchdog stops.
	wdMu      sync.Mutex
	wdStopped bool

	mu         sync.Mutex
	token      uint64
	validUntil time.Duration // on bootclock
	state      leaseState
	err        error
	// refreshErr is the error of the watchdog's last refresh that failed
	// other than by running into the validity's end (nil after one that
	// succeeded): a lease whose validity runs out says why its refreshes
	// did not get through (a client cut off by a deadline no longer says).
	refreshErr error
}

// newRedisLease returns the lease of a.id on key (names keys), TTL ttl.
func newRedisLease(l *RedisLocker, parent context.Context, key string, keys Keys, a *leaseArgs, token uint64, ttl, start time.Duration, adopted bool) *redisLease {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	le := &redisLease{
		l: l, key: key, keys: keys, args: a, id: a.id.(string), ttl: ttl, adopted: adopted,
		ctx: ctx, cancel: cancel,
		done:  make(chan struct{}),
		token: token, validUntil: start + validity(ttl),
	}
	leaseWatchdog.schedule(le, ttl/3)
	return le
}

func (le *redisLease) Key() string              { return le.key }
func (le *redisLease) ID() string               { return le.id }
func (le *redisLease) Done() <-chan struct{}    { return le.done }
func (le *redisLease) Context() context.Context { return le.ctx }

// AdvanceFence moves the key's fence counter one step, so that the next
// lease's token is past a floor set one above this lease's token (a lock
// closing the lease it handed down: the coordinator's closeHandedLease). The
// next holder would otherwise find its token equal to that floor and raise
// it, which is the response to Redis handing tokens out again. Advancing the
// counter is always safe: tokens only have to grow.
func (le *redisLease) AdvanceFence(ctx context.Context) error {
	if err := le.l.client.Incr(ctx, le.keys.Fence).Err(); err != nil {
		return &Error{Op: "advance fence", Key: le.key, Err: redisErr(err)}
	}
	return nil
}

func (le *redisLease) Token() uint64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.token
}

func (le *redisLease) Remaining() time.Duration {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.state != held {
		return 0
	}
	return max(le.validUntil-bootclock.Now(), 0)
}

func (le *redisLease) Err() error {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.err
}

func (le *redisLease) Committed() (Version, bool) {
	le.committedOnce.Do(func() {
		if le.committedJSON == "" {
			return
		}
		var v Version
		if err := v.UnmarshalJSON([]byte(le.committedJSON)); err == nil {
			le.committed, le.hasCommitted = v, true
		}
	})
	return le.committed, le.hasCommitted
}

// lose marks the lease lost once: Done closes and the context is cancelled
// with cause ErrLeaseLost.
func (le *redisLease) lose(why error) {
	le.mu.Lock()
	if le.state != held {
		le.mu.Unlock()
		return
	}
	le.state = lost
	le.err = &Error{Op: "lease", Key: le.key, Err: fmt.Errorf("%w: %v", ErrLeaseLost, why)}
	le.mu.Unlock()
	le.stopWatchdog()
	le.closeInbox()
	le.cancel(le.err)
	close(le.done)
	// le.ctx keeps the values (the trace) of the Acquire's context.
	le.l.cfg.logger.WarnContext(le.ctx, "lease lost", "key", quote.Value(le.key), "lease", le.id, "reason", why.Error())
}

// end marks the lease released or abandoned and stops the watchdog.
func (le *redisLease) end() (wasLost error) {
	le.mu.Lock()
	st := le.state
	if st == held {
		le.state = ended
		le.err = &Error{Op: "lease", Key: le.key, Err: errEnded}
	}
	err := le.err
	le.mu.Unlock()
	le.stopWatchdog()
	if st == held {
		le.cancel(err)
		close(le.done)
		return nil
	}
	return err
}

// tick is the watchdog: it refreshes every TTL/3 from the moment the lease
// was obtained. A refresh that finds another value loses the lease at once;
// transient errors are retried until the validity runs out.
func (le *redisLease) tick() {
	if le.ctx.Err() != nil {
		return
	}
	rem := le.Remaining()
	if rem <= 0 {
		le.lose(le.ranOut(0, nil))
		return
	}
	ctx, cancel := context.WithTimeout(le.ctx, rem)
	// ctx bounds the refresh only when the client has ContextTimeoutEnabled;
	// otherwise a Redis that never answers holds it for the client's read
	// timeout. The loss is reported when the validity runs out all the same.
	sent := bootclock.Now()
	expire := time.AfterFunc(rem, func() {
		if le.Remaining() <= 0 {
			le.lose(le.ranOut(sent, nil))
		}
	})
	err := le.refresh(ctx)
	expire.Stop()
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		le.mu.Lock()
		le.refreshErr = err
		le.mu.Unlock()
	}
	switch {
	case err == nil:
		le.rearm(le.ttl / 3)
	case errors.Is(err, ErrLeaseLost):
		le.lose(err)
	case le.ctx.Err() != nil:
	case le.Remaining() <= 0:
		le.lose(le.ranOut(0, err))
	default:
		le.rearm(min(jitter(le.l.cfg.retryEvery), le.Remaining()))
	}
}

// ranOut is the reason of a loss because the validity ran out with no
// refresh through: the last refresh's error cur (nil: none came back), or
// that the refresh sent at sent (on bootclock; 0: none) is still waiting for
// Redis, and the error of the last refresh that failed before.
func (le *redisLease) ranOut(sent time.Duration, cur error) error {
	le.mu.Lock()
	last := le.refreshErr
	le.mu.Unlock()
	why := "validity ran out before a refresh succeeded"
	switch {
	case cur != nil:
		why = "refresh failed until the validity ran out: " + cur.Error()
	case sent != 0:
		why += fmt.Sprintf(" (no reply yet to the refresh sent %v ago)", bootclock.Since(sent).Round(time.Millisecond))
	}
	if last != nil && last != cur {
		why += "; the last refresh failed: " + last.Error()
	}
	return errors.New(why)
}

func (le *redisLease) rearm(d time.Duration) {
	le.wdMu.Lock()
	defer le.wdMu.Unlock()
	if !le.wdStopped {
		leaseWatchdog.schedule(le, d)
	}
}

func (le *redisLease) stopWatchdog() {
	le.wdMu.Lock()
	le.wdStopped = true
	le.wdMu.Unlock()
	leaseWatchdog.remove(le)
}

// refresh runs the refresh script; on success the validity restarts from the
// send time. An error wrapping ErrLeaseLost means another value holds the key.
func (le *redisLease) refresh(ctx context.Context) error {
	a := le.args
	start := bootclock.Now()
	v, err := runScript(ctx, le.l.client, refreshScript, 2, a.lock, a.token, a.id, a.ttl)
	if err != nil {
		return &Error{Op: "refresh", Key: le.key, Err: redisErr(err)}
	}
	r, err := parseReply(v)
	if err != nil {
		return &Error{Op: "refresh", Key: le.key, Err: err}
	}
	if !r.ok {
		return &Error{Op: "refresh", Key: le.key, Err: fmt.Errorf("%w: key holds %s", ErrLeaseLost, holderName(r.a))}
	}
	le.mu.Lock()
	if until := start + validity(le.ttl); le.state == held && until > le.validUntil {
		le.validUntil = until
	}
	le.mu.Unlock()
	return nil
}

func holderName(v string) string {
	if v == "" {
		return "nothing (expired)"
	}
	return quoteName(v)
}

func (le *redisLease) Refresh(ctx context.Context) error {
	if err := le.Err(); err != nil {
		return err
	}
	err := le.refresh(ctx)
	if errors.Is(err, ErrLeaseLost) {
		le.lose(err)
		return le.Err()
	}
	return err
}

func (le *redisLease) CheckFloor(ctx context.Context, rec Record) (bool, error) {
	if err := le.Err(); err != nil {
		return false, err
	}
	n := floorOf(rec, le.id)
	drawn := le.Token()
	if n < drawn {
		return false, nil
	}
	a := le.args
	v, err := runScript(ctx, le.l.client, raiseFloorScript, 3, a.lock, a.token, a.fence, a.id, strconv.FormatUint(n, 10))
	if err != nil {
		return false, &Error{Op: "raise floor", Key: le.key, Err: redisErr(err)}
	}
	r, err := parseReply(v)
	if err != nil {
		return false, &Error{Op: "raise floor", Key: le.key, Err: err}
	}
	if !r.ok {
		le.lose(fmt.Errorf("raise floor: key holds %s", holderName(r.a)))
		return false, le.Err()
	}
	tok, err := parseToken(r.a)
	if err != nil {
		return false, &Error{Op: "raise floor", Key: le.key, Err: err}
	}
	le.mu.Lock()
	le.token = tok
	le.mu.Unlock()
	// A token at or below a version's token says Redis handed it out again
	// (a restart without persistence, a failover that lost writes): a
	// warning. A token equal to a floor that no version carries is what a
	// Lock whose lease ended while this one waited leaves (the floor one
	// past its own token, see the coordinator's closeHandedLease), which is
	// not Redis's doing: logged at info.
	level := slog.LevelWarn
	if drawn == n && rec.Floor.Token == n && rec.Pending.Token != n && rec.Committed.Token != n {
		level = slog.LevelInfo
	}
	le.l.cfg.logger.Log(ctx, level, "fencing token raised past the volume's floor", "key", quote.Value(le.key), "floor", n, "token", tok)
	return true, nil
}

func (le *redisLease) CheckCommit(rec Record) error {
	if err := le.Err(); err != nil {
		return err
	}
	return checkCommit(le.key, le.id, le.Token(), rec)
}
