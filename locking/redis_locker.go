package locking

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/bootclock"
	"github.com/sharedwrite/sharedwrite/internal/deadline"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// RedisLocker hands out leases held in Redis with fencing tokens. Safe for
// concurrent use.
//
// The lease scripts are sent without client-side automatic retries (go-redis's
// per-command NoRetry, whatever the client's MaxRetries; NewClient also sets
// MaxRetries -1): the locker retries by itself within the caller's deadline,
// with the same lease value, and the acquire script is idempotent for it, so a
// retry after a lost reply returns the same token instead of failing or
// incrementing the fence twice. Context deadlines bound each call only when
// the client has ContextTimeoutEnabled (NewClient sets it).
type RedisLocker struct {
	client   redis.UniversalClient
	volumeID string
	cfg      config
	hub      *wakeHub
	// idPrefix begins this locker's lease ids: "<host>/<pid>/<8 random
	// hex>". Its waiters' release channel is its own (Keys.WakeChannel), so
	// a release message reaches one locker's hub only.
	idPrefix string

	// attempted, when set (by tests, before any Acquire), is called with
	// the lease id before each run of the acquire script.
	attempted func(id string)

	// grace is how long the first waiter in line has to claim a freed lease
	// (queueGrace; tests lengthen it with setQueueGrace), graceArg the same
	// in milliseconds, boxed once as a script argument.
	grace    time.Duration
	graceArg any

	// bgActive counts the background releases (dropLater) of abandoned
	// places in line and unwanted grants still running; Close waits for
	// them, so that they do not find the client closed under them. (Not a
	// WaitGroup: an Acquire still running may start one while Close waits.)
	bgMu     sync.Mutex
	bgIdle   *sync.Cond
	bgActive int

	// pubRefusedSaid is set once a release's PUBLISH refused by Redis was
	// logged: an ACL refuses it on every release, and one line says it.
	pubRefusedSaid atomic.Bool
	// subRefusedSaid: likewise for a SUBSCRIBE refused.
	subRefusedSaid atomic.Bool
}

// subscribeRefused logs, once per locker, that Redis refused a subscription
// to a release channel (err: Redis's reply, e.g. NOPERM): waiters then hear
// of no release and retry every claim grace instead.
func (l *RedisLocker) subscribeRefused(err error) {
	if l.subRefusedSaid.Swap(true) {
		return
	}
	l.cfg.logger.Warn("Redis refused SUBSCRIBE: waiters hear of no release and retry every "+l.grace.String()+" instead (said once; an ACL user needs the channels sw:* and the SUBSCRIBE command)",
		"step", "subscribe", "err", err.Error())
}

// publishRefused logs, once per locker, that Redis refused the PUBLISH of a
// release of key (msg: Redis's error, e.g. NOPERM). The release itself did
// its work (release.lua goes on without the message); what is lost is the
// news: watchers of the key's changes and waiters in line learn of releases
// only by polling, and no lease is handed over without a round trip.
func (l *RedisLocker) publishRefused(ctx context.Context, key, msg string) {
	if l.pubRefusedSaid.Swap(true) {
		return
	}
	l.cfg.logger.WarnContext(ctx, "Redis refused PUBLISH: leases are still released, but watchers and waiters learn of releases only by polling (said once)",
		"step", "release", "key", quote.Value(key), "err", msg)
}

// NewRedisLocker returns a locker using client for the volume volumeID.
// Waiters share one pub/sub connection, opened on the first contended
// Acquire; Close closes it. A key's release channel (the process's own, see
// Keys.WakeChannel) stays subscribed for a second after its last waiter
// left, for the next one.
func NewRedisLocker(client redis.UniversalClient, volumeID string, opts ...Option) *RedisLocker {
	l := &RedisLocker{client: client, volumeID: volumeID, cfg: newConfig(opts), hub: &wakeHub{client: client}}
	l.idPrefix = leasePrefix(l.cfg.host) + "/" + randomHex(4)
	l.bgIdle = sync.NewCond(&l.bgMu)
	l.hub.orphan = func(keys Keys, id string) { l.dropLater(keys, id, dropBound) }
	l.hub.refused = l.subscribeRefused
	l.setQueueGrace(queueGrace)
	return l
}

// setQueueGrace sets the claim grace; never while an Acquire or a Release runs.
func (l *RedisLocker) setQueueGrace(d time.Duration) {
	l.grace, l.graceArg = d, d.Milliseconds()
}

// Close closes the locker's pub/sub connection (not the client), after the
// releases of abandoned places in line it started have run (each within a
// second). Leases already held keep working; a later contended Acquire waits
// on the holder's PTTL only.
func (l *RedisLocker) Close() error {
	err := l.hub.close()
	l.bgMu.Lock()
	for l.bgActive > 0 {
		l.bgIdle.Wait()
	}
	l.bgMu.Unlock()
	return err
}

// dropLater runs dropOrphanKeys in the background (Close waits for it),
// bounded by bound.
func (l *RedisLocker) dropLater(keys Keys, id string, bound time.Duration) {
	l.bgMu.Lock()
	l.bgActive++
	l.bgMu.Unlock()
	go func() {
		defer func() {
			l.bgMu.Lock()
			if l.bgActive--; l.bgActive == 0 {
				l.bgIdle.Broadcast()
			}
			l.bgMu.Unlock()
		}()
		l.dropOrphanKeys(keys, id, bound)
	}()
}

// Client returns the Redis client the locker uses.
func (l *RedisLocker) Client() redis.UniversalClient { return l.client }

// Keys returns the Redis names of key on the locker's volume.
func (l *RedisLocker) Keys(key string) Keys { return RedisKeys(l.volumeID, key) }

type acquireResult struct {
	ok        bool
	token     uint64
	committed string
	holder    string        // the lease holding the key
	pttl      time.Duration // how long to wait at most before retrying
	queued    bool          // free, but an earlier waiter is first in line
	first     bool          // held, and this waiter is first in line
	fence     uint64        // refused: the fence at the time (a later grant's token is above it)
}

// queueGrace is how long the first waiter in line has to claim a freed lease
// before the next may take it (RedisLocker.grace).
const queueGrace = 100 * time.Millisecond

// acquireOnce runs the acquire script once for lease id on keys.
func (l *RedisLocker) acquireOnce(ctx context.Context, keys Keys, id string, ttl time.Duration) (acquireResult, error) {
	return l.attempt(ctx, newLeaseArgs(keys, id, ttl))
}

// attempt runs the acquire script once for the lease id of a (an Acquire
// boxes its arguments once for all its attempts and its lease).
func (l *RedisLocker) attempt(ctx context.Context, a *leaseArgs) (acquireResult, error) {
	if l.attempted != nil {
		l.attempted(a.id.(string))
	}
	v, err := runScript(ctx, l.client, acquireScript, 6, a.lock, a.token, a.fence, a.commit, a.queue, a.queueExpiry,
		a.id, a.ttl, l.graceArg)
	if err != nil {
		return acquireResult{}, redisErr(err)
	}
	r, err := parseReply(v)
	if err != nil {
		return acquireResult{}, err
	}
	if !r.ok {
		res := acquireResult{holder: r.a, pttl: time.Duration(r.n) * time.Millisecond, queued: r.flag == 2}
		arr, _ := v.([]any)
		if res.queued {
			res.holder = ""
		} else if len(arr) > 3 {
			f, _ := arr[3].(int64)
			res.first = f == 1
		}
		if len(arr) > 4 {
			res.fence, _ = strconv.ParseUint(str(arr[4]), 10, 64)
		}
		return res, nil
	}
	tok, err := parseToken(r.a)
	if err != nil {
		return acquireResult{}, err
	}
	return acquireResult{ok: true, token: tok, committed: r.b}, nil
}

// MinTTL is the shortest lease TTL Acquire takes: below it the refresh
// every TTL/3 and the drift allowance (1% + 2 ms) leave a lease no time.
const MinTTL = 10 * time.Millisecond

// Acquire obtains the lease on key for ttl (at least 10 ms). It waits until
// ctx ends; the caller's deadline is honoured exactly (never capped at the
// TTL), and without a deadline Acquire waits until the lease is free.
//
// Waiters queue in arrival order. A waiter subscribes to its locker's release
// channel for the key (Keys.WakeChannel), and Redis confirms it, before it
// retries (before its first attempt when the locker's subscription to the
// channel already stands). A release publishes only to the locker of the
// first in line, and since that locker listens, hands the lease to it: the
// waiter holds the lease when the message arrives, without another round
// trip (see granted). The first in line behind a live holder waits
// until a release names it, the pub/sub connection drops, or the holder's
// PTTL (plus jitter) has passed, so an expired holder is taken over without
// a message. Any other waiter is woken only if a release names it, and
// otherwise retries every claim grace (100 ms, plus jitter), or sooner when
// the holder's PTTL or the first in line's claim ends first: a first in line
// that died is skipped once its grace is over, and the waiter's own place in
// line does not expire while it waits. A waiter whose subscription Redis
// refuses (an ACL refusing SUBSCRIBE or the channel; logged once per locker)
// retries every claim grace, first in line or not.
//
// Errors: a *HolderError wrapping ErrNotObtained and ctx's error when ctx
// ended while another lease held the key; wrapping ErrUnavailable when ctx
// ended while Redis could not be reached; an *Error for anything Redis refused
// outright (a wrong password, a script error).
func (l *RedisLocker) Acquire(ctx context.Context, key string, ttl time.Duration) (Lease, error) {
	if ttl < MinTTL {
		return nil, &Error{Op: "acquire", Key: key, Err: fmt.Errorf("ttl %v below %v", ttl, MinTTL)}
	}
	if ctx.Err() != nil {
		// Ended before Redis was asked: not Redis's doing (as LocalLocker).
		return nil, &Error{Op: "acquire", Key: key, Err: context.Cause(ctx)}
	}
	keys := l.Keys(key)
	id := newLeaseID(l.idPrefix)
	args := newLeaseArgs(keys, id, ttl)
	began := time.Now()
	var (
		w       *waiter
		holder  string
		lastErr error // the last transport error, nil after a reply
		tried   bool  // a request may have reached Redis
		replied bool  // Redis answered at least once
		timer   *time.Timer
		// The last refused attempt: its send time and the fence its reply
		// showed. A release that hands this waiter the lease does so after
		// that attempt reached Redis, with a token above that fence.
		refusedAt    time.Duration
		refusedFence uint64
		refused      bool
	)
	defer func() {
		if w != nil {
			w.stop()
		}
		if timer != nil {
			timer.Stop()
		}
	}()
	// The inbox stays open while the lease is held (the lease closes it
	// when it ends): a grant whose message arrives after this Acquire took
	// the lease by its own attempt is then not mistaken for one nobody
	// wants, and the lease is not released under its holder.
	in := l.hub.openInbox(id)
	obtained := false
	defer func() {
		if !obtained {
			l.hub.closeInbox(id)
		}
	}()
	// When the locker's subscription to the release channel already stands
	// (another waiter here, or one that just left), join it before the first
	// attempt: a release after that attempt reaches this waiter, so it need
	// not subscribe and retry once refused.
	w = l.hub.attach(keys, id, in.c)
	for {
		in.drain()
		start := bootclock.Now()
		res, err := l.attempt(ctx, args)
		tried = true
		if err == nil && res.ok {
			le := newRedisLease(l, ctx, key, keys, args, res.token, ttl, start, false)
			le.committedJSON = res.committed
			obtained = true
			return le, nil
		}
		var wait time.Duration
		switch {
		case err != nil && deadline.Passed(ctx):
			// The deadline passed during the round trip: keep what the last
			// reply said, if any arrived.
			if !replied && lastErr == nil {
				lastErr = err
				var ne net.Error
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
					// The client says only that it was cut off.
					lastErr = errors.New("no reply from Redis before the deadline")
				}
			}
		case err != nil && !isTransient(err):
			l.dropLater(l.Keys(key), id, dropBound) // an earlier attempt may have queued it
			return nil, &Error{Op: "acquire", Key: key, Err: err}
		case err != nil:
			lastErr = err
			wait = jitter(l.cfg.retryEvery)
		default:
			lastErr, replied = nil, true
			refusedAt, refusedFence, refused = start, res.fence, true
			if res.holder != "" {
				holder = res.holder
			}
			wait = max(res.pttl, time.Millisecond)
			if !res.first {
				// Only the first in line is told of a release.
				wait = min(wait, l.grace)
			}
			wait = jitter(wait)
			if w == nil {
				// Subscribe (and wait for Redis to confirm it) before
				// retrying, so that a release between the reply above and the
				// wait below is not missed. The confirmation is awaited no
				// longer than the wait itself: a subscription Redis never
				// confirms (a hung pub/sub connection) must not keep the
				// waiter from taking over an expired lease.
				wctx, cancel := context.WithTimeout(ctx, wait)
				var serr error
				w, serr = l.hub.watch(wctx, keys, id, in.c)
				timedOut := wctx.Err() != nil && ctx.Err() == nil
				cancel()
				if serr == nil {
					continue
				}
				w = nil
				if timedOut {
					continue // the wait is over: retry, and subscribe again if refused
				}
				if errors.Is(serr, errSubscribeRefused) {
					// Refused (an ACL without the channel, as for a Redis 7
					// user without channel permissions): no release is
					// heard, so the waiter retries as often as one that is
					// not first in line, instead of waiting out the holder's
					// PTTL after a release it cannot hear.
					wait = min(wait, jitter(l.grace))
				} else if ctx.Err() == nil && !isTransient(redisErr(serr)) {
					l.dropLater(l.Keys(key), id, dropBound) // out of the line it joined
					return nil, &Error{Op: "subscribe", Key: key, Err: redisErr(serr)}
				} else if ctx.Err() == nil {
					// Redis went away after its reply: retry soon, and if
					// the deadline comes first, say so (unavailable, not
					// "held").
					lastErr = redisErr(serr)
					wait = min(wait, jitter(l.cfg.retryEvery))
				}
				// Without a subscription, wait on the holder's PTTL.
			}
		}
		if ctx.Err() != nil {
			return nil, l.notObtained(key, id, holder, lastErr, tried, time.Since(began), ctx)
		}
		// Reset discards an expiry not yet received (Go 1.23 timers).
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return nil, l.notObtained(key, id, holder, lastErr, tried, time.Since(began), ctx)
		case <-timer.C:
		case <-in.c:
			if derr := in.takeDropped(); derr != nil {
				// Redis may be gone since its last reply: unless a reply
				// comes before the deadline, the wait ends unavailable,
				// not "held" (exit 6, not 3).
				lastErr = fmt.Errorf("the pub/sub connection to Redis failed: %w", derr)
			}
			if g := in.take(); g != nil && refused && g.token > refusedFence {
				if le := l.granted(ctx, key, keys, id, ttl, refusedAt, g); le != nil {
					obtained = true
					return le, nil
				}
			}
		}
	}
}

// granted returns the lease a release handed to waiter id (g), counting its
// validity from refusedAt, the send time of the waiter's last refused
// attempt: the grant came after that attempt reached Redis. It returns nil
// when less than half of that validity is left: the waiter then retries, and
// the acquire script, finding the lock holding its lease id, returns the
// token and extends the lease from a new send time.
func (l *RedisLocker) granted(ctx context.Context, key string, keys Keys, id string, ttl, refusedAt time.Duration, g *grant) Lease {
	// Redis holds the lease for g.ttl; the waiter refreshes to its own ttl.
	d := validity(min(ttl, g.ttl))
	rem := refusedAt + d - bootclock.Now()
	if rem < d/2 {
		return nil
	}
	le := newRedisLease(l, ctx, key, keys, newLeaseArgs(keys, id, ttl), g.token, ttl, refusedAt, false)
	le.mu.Lock()
	le.validUntil = refusedAt + d
	le.mu.Unlock()
	le.committedJSON = g.committed
	le.rearm(min(ttl/3, rem/2))
	return le
}

// notObtained builds the error for a wait that ended. The waiter leaves the
// queue, and since an attempt whose reply was lost may still have taken the
// lease, a release for our lease id is sent too, in the background.
func (l *RedisLocker) notObtained(key, id, holder string, lastErr error, tried bool, waited time.Duration, ctx context.Context) error {
	if tried {
		// With Redis failing, the drop is unlikely to get through, and a
		// process that closes the locker to exit (the CLI) would overrun
		// its deadline waiting for it: a lease a lost reply gave us expires
		// with its TTL, and a place in line with the grace.
		bound := dropBound
		if lastErr != nil {
			bound = dropBoundUnavailable
		}
		l.dropLater(l.Keys(key), id, bound)
	}
	if lastErr != nil {
		last := strings.TrimPrefix(lastErr.Error(), ErrUnavailable.Error()+": ")
		return &HolderError{Key: key, Waited: waited, Err: fmt.Errorf("%w: %w: %s", ErrUnavailable, context.Cause(ctx), last)}
	}
	return &HolderError{Key: key, Lease: holder, Waited: waited, Err: fmt.Errorf("%w: %w", ErrNotObtained, context.Cause(ctx))}
}

// Bounds of the background release of a lease id that gave up its wait: with
// Redis answering, and after the wait ended with Redis failing.
const (
	dropBound            = time.Second
	dropBoundUnavailable = 100 * time.Millisecond
)

// dropOrphanKeys releases lease id on keys, which also removes its place in
// line in the same step (release.lua): no release can hand it the lease
// afterwards.
func (l *RedisLocker) dropOrphanKeys(keys Keys, id string, bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	_, _ = runRelease(ctx, l, newLeaseArgs(keys, id, 0), false, false, nil)
}
