package locking

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// wakeHub multiplexes the release channels all waiters of one RedisLocker
// listen on over one pub/sub connection, opened on first use: a contended
// Acquire then costs one SUBSCRIBE round trip instead of a new connection.
// A channel stays subscribed for subscriptionLinger after its last waiter
// left, so that a process contending on a key over and over subscribes once.
//
// Each key's channel is the process's own (Keys.WakeChannel), shared by the
// process's waiters on that key. A release publishes there only when one of
// them is first in line, naming it (see release.lua): that waiter alone is
// woken, and no other process reads the message. The message either hands
// the lease to that waiter (a grant: the release's process saw this one
// subscribed) or only names it, and it retries.
type wakeHub struct {
	client redis.UniversalClient
	// orphan releases a lease handed to a lease id none of the hub's
	// waiters is waiting for (it gave up just before), so that the key is
	// not held for a TTL by no one.
	orphan func(keys Keys, id string)

	mu       sync.Mutex
	ps       *redis.PubSub
	closed   bool
	channels map[string]*hubChannel
}

// subscriptionLinger is how long a release channel stays subscribed without
// waiters.
const subscriptionLinger = time.Second

type hubChannel struct {
	keys    Keys // the key's Redis names
	waiters map[*waiter]struct{}
	// confirmed is true while Redis has the subscription: from its
	// confirmation until the connection fails (go-redis then subscribes
	// again and Redis confirms again).
	confirmed bool
	ready     chan struct{} // closed on the first confirmation
	idle      *time.Timer   // unsubscribes once the linger is over
}

// waiter is one Acquire waiting on a release channel. The fields below hub
// are guarded by hub.mu.
type waiter struct {
	hub     *wakeHub
	channel string
	id      string // the lease id the Acquire is asking for
	// c holds a pending wake-up: a release that named this waiter, or a
	// reconnect (a release may have been missed). Buffered 1.
	c chan struct{}
	// grant is the lease a release handed to this waiter, if its message
	// did (guarded by hub.mu).
	grant *grant
}

// grant is a lease a release handed to the first waiter in line: its token,
// the TTL Redis holds it for, and the committed version (JSON) at the time.
type grant struct {
	token     uint64
	ttl       time.Duration
	committed string
}

// parseGrant parses a release message that hands the lease over (see
// release.lua): "+" token " " TTL ms " " length of the lease id ":" lease
// id, then the committed version. ok is false for any other message.
func parseGrant(p string) (id string, g *grant, ok bool) {
	rest, found := strings.CutPrefix(p, "+")
	if !found {
		return "", nil, false
	}
	tokS, rest, ok1 := strings.Cut(rest, " ")
	ttlS, rest, ok2 := strings.Cut(rest, " ")
	nS, rest, ok3 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || !ok3 {
		return "", nil, false
	}
	tok, err1 := strconv.ParseUint(tokS, 10, 64)
	ttl, err2 := strconv.ParseInt(ttlS, 10, 64)
	n, err3 := strconv.Atoi(nS)
	if err1 != nil || err2 != nil || err3 != nil || tok == 0 || ttl <= 0 || n <= 0 || n > len(rest) {
		return "", nil, false
	}
	return rest[:n], &grant{token: tok, ttl: time.Duration(ttl) * time.Millisecond, committed: rest[n:]}, true
}

func (h *wakeHub) newWaiter(channel, id string) *waiter {
	return &waiter{hub: h, channel: channel, id: id, c: make(chan struct{}, 1)}
}

// attach returns a waiter for lease id on channel when the hub's
// subscription to it is confirmed and standing, without a round trip; nil
// otherwise. Every release published after attach returns reaches the
// waiter, or a reconnect wakes it.
func (h *wakeHub) attach(keys Keys, id string) *waiter {
	channel := keys.WakeChannel(id)
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[channel]
	if h.closed || ch == nil || !ch.confirmed {
		return nil
	}
	w := h.newWaiter(channel, id)
	ch.add(w)
	return w
}

// watch subscribes a waiter for lease id to channel and returns once Redis
// has confirmed the subscription, so that any release published afterwards
// reaches it.
func (h *wakeHub) watch(ctx context.Context, keys Keys, id string) (*waiter, error) {
	channel := keys.WakeChannel(id)
	w := h.newWaiter(channel, id)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, redis.ErrClosed
	}
	if h.ps == nil {
		h.ps = h.client.Subscribe(context.Background())
		h.channels = map[string]*hubChannel{}
		go h.receive(h.ps)
	}
	ch := h.channels[channel]
	if ch == nil {
		ch = &hubChannel{keys: keys, waiters: map[*waiter]struct{}{}, ready: make(chan struct{})}
		h.channels[channel] = ch
		if err := h.ps.Subscribe(ctx, channel); err != nil {
			delete(h.channels, channel)
			h.mu.Unlock()
			return nil, err
		}
	}
	ch.add(w)
	ready := ch.ready
	h.mu.Unlock()
	select {
	case <-ready:
		return w, nil
	case <-ctx.Done():
		w.stop()
		return nil, ctx.Err()
	}
}

func (ch *hubChannel) add(w *waiter) {
	if ch.idle != nil {
		ch.idle.Stop()
		ch.idle = nil
	}
	ch.waiters[w] = struct{}{}
}

// drain forgets a wake-up, and a grant, that arrived before the next
// attempt: its reply is newer (for a grant, the attempt finds the lock
// holding the waiter's lease id and takes it).
func (w *waiter) drain() {
	select {
	case <-w.c:
	default:
	}
	w.hub.mu.Lock()
	w.grant = nil
	w.hub.mu.Unlock()
}

// takeGrant returns and forgets the lease a release handed to w, if any.
func (w *waiter) takeGrant() *grant {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	g := w.grant
	w.grant = nil
	return g
}

// stop detaches the waiter. The channel is unsubscribed once it has had no
// waiter for subscriptionLinger, or at once if Redis never confirmed it.
func (w *waiter) stop() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[w.channel]
	if ch == nil {
		return
	}
	delete(ch.waiters, w)
	if len(ch.waiters) > 0 || h.closed {
		return
	}
	if !ch.confirmed {
		h.unsubscribeLocked(w.channel)
		return
	}
	if ch.idle == nil {
		ch.idle = time.AfterFunc(subscriptionLinger, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.channels[w.channel] == ch && len(ch.waiters) == 0 && !h.closed {
				h.unsubscribeLocked(w.channel)
			}
		})
	}
}

func (h *wakeHub) unsubscribeLocked(channel string) {
	delete(h.channels, channel)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = h.ps.Unsubscribe(ctx, channel)
	cancel()
}

// receive reads the pub/sub connection until the hub is closed. go-redis
// reconnects and resubscribes after an error; waiters are woken then, and
// again when Redis confirms each subscription anew, since a release may have
// been missed while disconnected.
func (h *wakeHub) receive(ps *redis.PubSub) {
	backoff := 10 * time.Millisecond
	for {
		msg, err := ps.Receive(context.Background())
		if err != nil {
			h.mu.Lock()
			closed := h.closed
			if !closed {
				for _, ch := range h.channels {
					ch.confirmed = false
					ch.wakeAll()
				}
			}
			h.mu.Unlock()
			if closed || errors.Is(err, redis.ErrClosed) {
				return
			}
			time.Sleep(backoff)
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		h.mu.Lock()
		switch m := msg.(type) {
		case *redis.Subscription:
			if ch := h.channels[m.Channel]; ch != nil && m.Kind == "subscribe" && !ch.confirmed {
				ch.confirmed = true
				select {
				case <-ch.ready:
					ch.wakeAll() // subscribed again after a reconnect
				default:
					close(ch.ready)
				}
			}
		case *redis.Message:
			if ch := h.channels[m.Channel]; ch != nil {
				if id := ch.wake(m.Payload); id != "" && h.orphan != nil {
					go h.orphan(ch.keys, id)
				}
			}
		}
		h.mu.Unlock()
	}
}

func (ch *hubChannel) wakeAll() {
	for w := range ch.waiters {
		signal(w.c)
	}
}

// wake delivers a release message: the lease id of the waiter that may
// claim the lease, or a grant handing it the lease. That waiter is woken, the
// process's others on the key are not (they are behind it in line). It
// returns the lease id of a grant no waiter here takes, "" otherwise.
func (ch *hubChannel) wake(payload string) (orphan string) {
	if w := ch.find(payload); w != nil {
		signal(w.c)
		return ""
	}
	id, g, ok := parseGrant(payload)
	if !ok {
		return ""
	}
	if w := ch.find(id); w != nil {
		w.grant = g
		signal(w.c)
		return ""
	}
	return id
}

// find returns the waiter for lease id, or nil.
func (ch *hubChannel) find(id string) *waiter {
	for w := range ch.waiters {
		if w.id == id {
			return w
		}
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// close closes the pub/sub connection.
func (h *wakeHub) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	for _, ch := range h.channels {
		if ch.idle != nil {
			ch.idle.Stop()
		}
	}
	if h.ps == nil {
		return nil
	}
	return h.ps.Close()
}
