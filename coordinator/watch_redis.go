package coordinator

import (
	"context"
	"encoding/json"
	"errors"
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
	// a PING checks that its connection is alive.
	subscriptionPing    = 15 * time.Second
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
	ch := locking.RedisKeys(w.c.vol.id, w.key).ChangeChannel
	sctx, cancel := context.WithCancel(ctx)
	ps := client.Subscribe(sctx) // no channel yet: nothing is sent
	closeOnce := sync.OnceFunc(func() { ps.Close() })
	// Receive does not watch its context: closing the subscription ends it.
	unhook := context.AfterFunc(sctx, closeOnce)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Subscribing waits for a connection, which a hung Redis holds up
		// until the client's read timeout: not the caller, who reads the
		// starting point from the volume meanwhile. The confirmation rings
		// the bell, so a version committed in between is not missed; a
		// failure is listen's to report and retry (the channel stays in
		// the subscription's set).
		_ = ps.Subscribe(sctx, ch)
		w.listen(sctx, ps)
	}()
	return func() {
		cancel()
		unhook()
		closeOnce()
		<-done
	}
}

func (w *watcher) listen(ctx context.Context, ps *redis.PubSub) {
	down := false
	var since time.Time
	var backoff time.Duration
	for {
		msg, err := ps.ReceiveTimeout(ctx, subscriptionPing)
		if deadline.Passed(ctx) {
			return
		}
		if err != nil && isTimeout(err) {
			if err = ps.Ping(ctx); err == nil {
				continue
			}
		}
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
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
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
