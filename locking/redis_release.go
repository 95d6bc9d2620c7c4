package locking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/deadline"
)

// Release ends the lease: compare-and-delete in Redis, storing committed
// (when not nil) and publishing its change event in the same script.
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
