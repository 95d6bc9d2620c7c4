package locking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/bootclock"
	"github.com/sharedwrite/sharedwrite/internal/deadline"
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
		le.lose(errors.New("validity ran out before a refresh succeeded"))
		return
	}
	ctx, cancel := context.WithTimeout(le.ctx, rem)
	// ctx bounds the refresh only when the client has ContextTimeoutEnabled;
	// otherwise a Redis that never answers holds it for the client's read
	// timeout. The loss is reported when the validity runs out all the same.
	expire := time.AfterFunc(rem, func() {
		if le.Remaining() <= 0 {
			le.lose(errors.New("validity ran out before a refresh succeeded"))
		}
	})
	err := le.refresh(ctx)
	expire.Stop()
	cancel()
	switch {
	case err == nil:
		le.rearm(le.ttl / 3)
	case errors.Is(err, ErrLeaseLost):
		le.lose(err)
	case le.ctx.Err() != nil:
	case le.Remaining() <= 0:
		le.lose(fmt.Errorf("refresh failed until the validity ran out: %w", err))
	default:
		le.rearm(min(jitter(le.l.cfg.retryEvery), le.Remaining()))
	}
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

func (le *redisLease) Release(ctx context.Context, committed *Version, path string) error {
	lostErr := le.end()
	defer le.closeInbox()
	if path == "" {
		path = le.key
	}
	if committed == nil && (le.adopted || lostErr != nil) {
		if lostErr != nil && !le.adopted {
			// Lost because the validity ran out (Redis unreachable, or
			// paused) does not mean another lease holds the key: Redis may
			// still hold ours until its TTL. Compare-and-delete it, waiting
			// at most lostReleaseWait: Redis may still be unreachable, and
			// the key expires by itself.
			rctx, cancel := context.WithTimeout(ctx, lostReleaseWait)
			_, _ = runRelease(rctx, le.l, le.args, false, false, nil)
			cancel()
		}
		return lostErr
	}
	var c *releasedVersion
	if committed != nil {
		var err error
		if c, err = newReleasedVersion(committed, path, le.keys.ChangeChannel); err != nil {
			return &Error{Op: "release", Key: le.key, Err: err}
		}
	}
	// Within the TTL: past it the key expires by itself (and the retries of
	// runRelease end whatever ctx is). A ctx whose deadline comes first
	// bounds it already (the coordinator's does): no context of our own.
	rctx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > le.ttl {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, le.ttl)
		defer cancel()
	}
	v, err := runRelease(rctx, le.l, le.args, le.adopted, true, c)
	if err != nil {
		return &Error{Op: "release", Key: le.key, Err: redisErr(err)}
	}
	r, err := parseReply(v)
	if err != nil {
		return &Error{Op: "release", Key: le.key, Err: err}
	}
	if r.b != "" {
		// The third element: a PUBLISH refused. The release did its work.
		le.l.publishRefused(ctx, le.key, r.b)
	}
	if lostErr != nil {
		return lostErr
	}
	if !r.ok {
		return &Error{Op: "release", Key: le.key, Err: fmt.Errorf("%w: the lease had expired", ErrLeaseLost)}
	}
	return nil
}

// lostReleaseWait bounds the compare-and-delete a lost lease's Release
// still sends.
const lostReleaseWait = 500 * time.Millisecond

func (le *redisLease) Abandon() {
	le.end()
	le.closeInbox()
}

// closeInbox closes the inbox the Acquire of this lease opened (an adopted
// lease has none): after the lease's release, a late message handing this
// lease id the lease is one nobody wants, and is released.
func (le *redisLease) closeInbox() {
	if !le.adopted {
		le.l.hub.closeInbox(le.id)
	}
}

// releasedVersion is a committed version for the release script to store:
// its JSON (Version.MarshalJSON), its token, the change channel and the
// change event (Event.MarshalJSON).
type releasedVersion struct{ json, token, channel, event string }

// newReleasedVersion encodes v, and the event of its release at path on
// channel, in one string: the event is the version's object with "path" in
// front, without encoding the version twice, and the token is the digits
// the JSON begins with.
func newReleasedVersion(v *Version, path, channel string) (*releasedVersion, error) {
	b := make([]byte, 0, 2*v.jsonSize()+len(`{"path":"",`)+len(path))
	b, err := v.appendJSON(b)
	if err != nil {
		return nil, err
	}
	n := len(b)
	b = append(b, `{"path":`...)
	b = appendJSONString(b, path)
	b = append(b, ',')
	b = append(b, b[1:n]...)
	s := string(b)
	tokenEnd := len(`{"token":`)
	for s[tokenEnd] != ',' {
		tokenEnd++
	}
	return &releasedVersion{json: s[:n], token: s[len(`{"token":`):tokenEnd], channel: channel, event: s[n:]}, nil
}

// runRelease runs the release script (l's client and grace) for the lease id
// of a on its keys; keep publishes only (an adopted lease), c is stored when
// not nil. With hand, the lease is handed, for a's TTL, to the first waiter
// in line when its process listens. The keep flag and the version's
// arguments are sent only when needed.
//
// A reply saying the script did not run, and that a retry can cure (a
// replica's READONLY after a failover, a cluster's TRYAGAIN while a slot
// moves: see transientReply), is retried every retry interval until ctx
// ends: such a reply comes before the script changed anything, so a repeat
// does what one run would have, and a release given up there would leave the
// key held for its whole TTL and the committed version unpublished. A
// transport error is not repeated: the first run may have taken effect. A
// retry that ctx's end cuts off returns its error (its outcome is unknown)
// with the last reply the server gave.
func runRelease(ctx context.Context, l *RedisLocker, a *leaseArgs, keep, hand bool, c *releasedVersion) (any, error) {
	var timer *time.Timer
	var refused error
	for {
		v, err := runReleaseOnce(ctx, l, a, keep, hand, c)
		var re redis.Error
		if err != nil && refused != nil && deadline.Passed(ctx) && !errors.As(err, &re) {
			// This run's outcome is unknown (it may have run): say so, and
			// what the server answered before.
			return nil, fmt.Errorf("%w (a retry cut off by the deadline; the server had answered: %v)", err, refused)
		}
		if err == nil || !errors.As(err, &re) || !transientReply(re.Error()) {
			return v, err
		}
		refused = err
		if timer == nil {
			timer = time.NewTimer(jitter(l.cfg.retryEvery))
			defer timer.Stop()
		} else {
			timer.Reset(jitter(l.cfg.retryEvery))
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-timer.C:
			if ctx.Err() != nil {
				return v, err
			}
		}
	}
}

// noGrant is the release script's TTL argument that hands nothing over.
var noGrant any = int64(0)

func runReleaseOnce(ctx context.Context, l *RedisLocker, a *leaseArgs, keep, hand bool, c *releasedVersion) (any, error) {
	grant := noGrant
	if hand {
		grant = a.ttl
	}
	var buf [15]any
	args := append(buf[:0], a.lock, a.token, a.queue, a.queueExpiry, a.fence, a.commit, a.id, a.releaseChannel, l.graceArg, grant)
	if keep || c != nil {
		k := "0"
		if keep {
			k = "1"
		}
		args = append(args, k)
	}
	if c != nil {
		args = append(args, c.json, c.token, c.channel, c.event)
	}
	return runScript(ctx, l.client, releaseScript, 6, args...)
}
