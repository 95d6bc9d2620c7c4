package coordinator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/deadline"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// redisClient is the coordinator's Redis client (nil in local mode).
func (c *Coordinator) redisClient() redis.UniversalClient {
	if c.vol.mode != ModeRedis {
		return nil
	}
	return c.client
}

// hintBox holds the newest version a change event announced.
type hintBox struct {
	mu sync.Mutex
	v  locking.Version
}

// offer keeps v when it is newer (newerVersion) than the version held.
func (b *hintBox) offer(v locking.Version) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !newerVersion(v, b.v) {
		return false
	}
	b.v = v
	return true
}

func (b *hintBox) get() locking.Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v
}

// redisCommitted reads Redis's copy of the committed record (false: none, or
// Redis unreachable; the volume's record is the truth either way).
func (w *watcher) redisCommitted(ctx context.Context) (locking.Version, bool) {
	client := w.c.redisClient()
	if client == nil {
		return locking.Version{}, false
	}
	gctx, cancel := context.WithTimeout(ctx, redisCommittedBound)
	defer cancel()
	b, err := client.Get(gctx, locking.RedisKeys(w.c.vol.id, w.key).Commit).Bytes()
	if err != nil {
		return locking.Version{}, false
	}
	var v locking.Version
	if json.Unmarshal(b, &v) != nil {
		return locking.Version{}, false
	}
	return v, true
}

// Timings of the change-channel subscription.
const (
	// redisCommittedBound bounds the read of Redis's copy of the committed
	// record at the start of a watch (a GET; a hung Redis must not hold up
	// the first delivery, which the volume's record can make alone).
	redisCommittedBound = 500 * time.Millisecond
	// subscriptionPing is how long the subscription may stay silent before
	// a PING checks that its connection is alive, and subscriptionPong how
	// long the answer may take before the connection is taken for dead.
	subscriptionPing    = 15 * time.Second
	subscriptionPong    = 5 * time.Second
	subscribeBackoffMin = 50 * time.Millisecond
	subscribeBackoffMax = 2 * time.Second
)

// subscribe listens on key's change channel until ctx ends: each event rings
// the bell (and offers its version as a hint), and so does every
// (re)subscription, since messages published while the connection was down are
// lost. An outage is logged once when it starts and once when it ends, however
// many reconnection attempts it takes. It returns a function that stops it and
// waits for it.
func (w *watcher) subscribe(ctx context.Context, client redis.UniversalClient) (stop func()) {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.listen(sctx, client)
	}()
	return func() {
		cancel()
		<-done
	}
}

// openSubscription subscribes to the change channel ch on a connection of its
// own. Subscribing waits for a connection, which a hung Redis holds up until
// the client's read timeout: not the caller of Watch, who reads the starting
// point from the volume meanwhile. The confirmation rings the bell, so a
// version committed in between is not missed; a failure is listen's to
// report and retry (the channel stays in the subscription's set). close ends
// the subscription, and a Receive in progress: Receive does not watch its
// context, so ctx's end closes it too.
func openSubscription(ctx context.Context, client redis.UniversalClient, ch string) (ps *redis.PubSub, close func()) {
	ps = client.Subscribe(ctx) // no channel yet: nothing is sent
	closeOnce := sync.OnceFunc(func() { ps.Close() })
	unhook := context.AfterFunc(ctx, closeOnce)
	_ = ps.Subscribe(ctx, ch)
	return ps, func() {
		unhook()
		closeOnce()
	}
}

func (w *watcher) listen(ctx context.Context, client redis.UniversalClient) {
	ch := locking.RedisKeys(w.c.vol.id, w.key).ChangeChannel
	ps, closePS := openSubscription(ctx, client, ch)
	defer func() { closePS() }()
	ping := cmp.Or(w.cfg.ping, subscriptionPing)
	pong := min(ping, subscriptionPong)
	pinged := false // a PING was sent and nothing came since
	down := false
	var since time.Time
	var backoff time.Duration
	for {
		wait := ping
		if pinged {
			wait = pong
		}
		msg, err := ps.ReceiveTimeout(ctx, wait)
		if deadline.Passed(ctx) {
			return
		}
		if err != nil && isTimeout(err) {
			if !pinged {
				if err = ps.Ping(ctx); err == nil {
					pinged = true
					continue
				}
			} else {
				// The connection took the PING, but nothing came back: its
				// peer is gone without a word (its host died, a network
				// device dropped the connection), which TCP would notice
				// only after many minutes of retransmissions, every event
				// published meanwhile lost. A new connection subscribes
				// again, and its confirmation rings.
				closePS()
				ps, closePS = openSubscription(ctx, client, ch)
				err = fmt.Errorf("no answer to PING on the subscription within %v: %w", pong, err)
			}
		}
		pinged = false
		if deadline.Passed(ctx) {
			return
		}
		if err != nil {
			if !down {
				down, since = true, time.Now()
				w.c.log.WarnContext(ctx, "watch: Redis change notifications unavailable; polling the volume until Redis is back",
					"key", quote.Value(w.key), "interval", w.cfg.interval, "err", err)
			}
			backoff = min(max(2*backoff, subscribeBackoffMin), subscribeBackoffMax)
			if pause(ctx, backoff) != nil {
				return
			}
			continue
		}
		backoff = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if down {
				down = false
				w.c.log.InfoContext(ctx, "watch: Redis change notifications back; re-checking the volume",
					"key", quote.Value(w.key), "outage", time.Since(since).Round(time.Millisecond))
			}
			w.ring()
		case *redis.Message:
			var ev locking.Event
			if json.Unmarshal([]byte(m.Payload), &ev) == nil && ev.Path == w.key {
				w.hint.offer(ev.Version)
			}
			w.ring()
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
