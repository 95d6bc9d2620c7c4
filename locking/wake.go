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
// Each key's channel is the locker's own (Keys.WakeChannel of its lease ids),
// shared by the locker's waiters on that key. A release publishes there only
// when one of them is first in line, naming it (see release.lua): that waiter
// alone is woken, and no other locker reads the message. The message either
// hands the lease to that waiter (a grant: the release saw this channel
// subscribed) or only names it, and it retries.
type wakeHub struct {
	client redis.UniversalClient
	// orphan releases a lease handed to a lease id of the locker's that no
	// Acquire waits for and no lease holds (its Acquire gave up just
	// before), so that the key is not held for a TTL by no one.
	orphan func(keys Keys, id string)
	// refused is told of a reply of Redis's on the pub/sub connection that
	// refuses a (un)subscription (an ACL: NOPERM), which no confirmation
	// follows: waiters then hear of no release and retry on their own.
	refused func(err error)

	mu       sync.Mutex
	ps       *redis.PubSub
	closed   bool
	channels map[string]*hubChannel
	inboxes  map[string]*inbox // by lease id, one per running Acquire

	// sub serialises the SUBSCRIBE and UNSUBSCRIBE round trips (a
	// semaphore, so that a waiter's context ends its wait for it), which
	// run outside mu: a pub/sub connection stalled on a paused Redis must
	// not hold up the Acquires and Releases that only need mu.
	sub chan struct{}
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
	// refused is closed when Redis refused a subscription (an ACL: NOPERM)
	// while this one waited for its first confirmation, which then never
	// comes; its waiters learn of it (errSubscribeRefused).
	refused chan struct{}
	idle    *time.Timer // unsubscribes once the linger is over
}

// waiter is one Acquire waiting on a release channel. The fields below hub
// are guarded by hub.mu.
type waiter struct {
	hub     *wakeHub
	channel string
	id      string // the lease id the Acquire is asking for
	// c holds a pending wake-up: a release that named this waiter, or a
	// reconnect (a release may have been missed); its Acquire's inbox.c.
	c chan struct{}
}

// inbox is where an Acquire receives its wake-ups (c, buffered 1) and the
// lease a release hands it (grant, guarded by hub.mu). It is registered in
// the locker's hub under the lease id from before the Acquire's first
// attempt until the Acquire fails or, once it has the lease, until the lease
// ends: a grant arriving before the Acquire joined the hub's subscription
// still reaches it, a late copy of a grant for a lease already held is
// ignored, and only a grant for a lease id with neither is released as
// unwanted.
type inbox struct {
	hub   *wakeHub
	c     chan struct{}
	grant *grant
	// dropped is the error the pub/sub connection failed with while the
	// Acquire waited (guarded by hub.mu): Redis may be gone, and no reply
	// since says otherwise.
	dropped error
}

func (h *wakeHub) openInbox(id string) *inbox {
	in := &inbox{hub: h, c: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.inboxes == nil {
		h.inboxes = map[string]*inbox{}
	}
	h.inboxes[id] = in
	h.mu.Unlock()
	return in
}

func (h *wakeHub) closeInbox(id string) {
	h.mu.Lock()
	delete(h.inboxes, id)
	h.mu.Unlock()
}

// drain forgets a wake-up, and a grant, that arrived before the next
// attempt: its reply is newer (for a grant, the attempt finds the lock
// holding the lease id and takes it).
func (in *inbox) drain() {
	select {
	case <-in.c:
	default:
	}
	in.hub.mu.Lock()
	in.grant, in.dropped = nil, nil
	in.hub.mu.Unlock()
}

// takeDropped returns and forgets the error the pub/sub connection failed
// with since the last drain, if it did.
func (in *inbox) takeDropped() error {
	in.hub.mu.Lock()
	defer in.hub.mu.Unlock()
	err := in.dropped
	in.dropped = nil
	return err
}

// take returns and forgets the lease a release handed over, if any.
func (in *inbox) take() *grant {
	in.hub.mu.Lock()
	defer in.hub.mu.Unlock()
	g := in.grant
	in.grant = nil
	return g
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

func (h *wakeHub) newWaiter(channel, id string, c chan struct{}) *waiter {
	return &waiter{hub: h, channel: channel, id: id, c: c}
}

// attach returns a waiter for lease id on channel when the hub's
// subscription to it is confirmed and standing, without a round trip; nil
// otherwise. Every release published after attach returns reaches the
// waiter, or a reconnect wakes it.
func (h *wakeHub) attach(keys Keys, id string, c chan struct{}) *waiter {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.channels) == 0 {
		// No subscription stands (no contention lately): not even the
		// channel's name is needed.
		return nil
	}
	channel := keys.WakeChannel(id)
	ch := h.channels[channel]
	if ch == nil || !ch.confirmed {
		return nil
	}
	w := h.newWaiter(channel, id, c)
	ch.add(w)
	return w
}

// watch subscribes a waiter for lease id to channel and returns once Redis
// has confirmed the subscription, so that any release published afterwards
// reaches it.
func (h *wakeHub) watch(ctx context.Context, keys Keys, id string, c chan struct{}) (*waiter, error) {
	channel := keys.WakeChannel(id)
	w := h.newWaiter(channel, id, c)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, redis.ErrClosed
	}
	if h.ps == nil {
		h.ps = h.client.Subscribe(context.Background()) // no round trip yet
		h.channels = map[string]*hubChannel{}
		h.sub = make(chan struct{}, 1)
		go h.receive(h.ps)
	}
	ch := h.channels[channel]
	if ch == nil {
		h.mu.Unlock()
		// Subscribe, in turn with the other (un)subscribes, outside mu.
		select {
		case h.sub <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-h.sub }()
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, redis.ErrClosed
		}
		if ch = h.channels[channel]; ch == nil {
			ch = &hubChannel{keys: keys, waiters: map[*waiter]struct{}{}, ready: make(chan struct{}), refused: make(chan struct{})}
			h.channels[channel] = ch
			ch.add(w)
			ps := h.ps
			h.mu.Unlock()
			if err := ps.Subscribe(ctx, channel); err != nil {
				h.mu.Lock()
				if h.channels[channel] == ch {
					delete(h.channels, channel)
					ch.wakeAll() // waiters that joined meanwhile retry
				}
				h.mu.Unlock()
				return nil, err
			}
			h.mu.Lock()
		} else {
			ch.add(w)
		}
	} else {
		ch.add(w)
	}
	ready, refused := ch.ready, ch.refused
	h.mu.Unlock()
	select {
	case <-ready:
		return w, nil
	case <-refused:
		w.stop()
		return nil, errSubscribeRefused
	case <-ctx.Done():
		w.stop()
		return nil, ctx.Err()
	}
}

// errSubscribeRefused: Redis refused a subscription while watch waited for
// its confirmation (an ACL without the channel or the command).
var errSubscribeRefused = errors.New("subscription to the release channel refused by Redis")

func (ch *hubChannel) add(w *waiter) {
	if ch.idle != nil {
		ch.idle.Stop()
		ch.idle = nil
	}
	ch.waiters[w] = struct{}{}
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

// unsubscribeLocked drops channel (h.mu is held) and unsubscribes from it in
// the background, in turn with the other (un)subscribes; not when a waiter
// has subscribed to it again by then.
func (h *wakeHub) unsubscribeLocked(channel string) {
	delete(h.channels, channel)
	ps, sub := h.ps, h.sub
	go func() {
		sub <- struct{}{}
		defer func() { <-sub }()
		h.mu.Lock()
		again := h.channels[channel] != nil || h.closed
		h.mu.Unlock()
		if again {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = ps.Unsubscribe(ctx, channel)
		cancel()
	}()
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
			re := redis.Error(nil)
			refusal := errors.As(err, &re)
			if refusal && h.refused != nil {
				h.refused(err)
			}
			h.mu.Lock()
			closed := h.closed
			if !closed {
				for _, ch := range h.channels {
					ch.confirmed = false
					if !refusal {
						for w := range ch.waiters {
							if in := h.inboxes[w.id]; in != nil {
								in.dropped = err
							}
						}
					}
					ch.wakeAll()
					if refusal {
						ch.refuse()
					}
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
				if id := h.deliver(ch, m.Payload); id != "" && h.orphan != nil {
					h.orphan(ch.keys, id) // in the background
				}
			}
		}
		h.mu.Unlock()
	}
}

// refuse tells the waiters of ch that its subscription was refused, unless
// Redis confirmed it before (h.mu is held). The reply does not say which
// subscription it refuses: a channel whose confirmation is still to come
// may take one meant for another, and its waiters retry, subscribing again.
func (ch *hubChannel) refuse() {
	select {
	case <-ch.ready:
	case <-ch.refused:
	default:
		close(ch.refused)
	}
}

func (ch *hubChannel) wakeAll() {
	for w := range ch.waiters {
		signal(w.c)
	}
}

// deliver delivers a release message on ch: the lease id of the waiter that
// may claim the lease, which is woken, or a grant handing the lease to an
// Acquire of this locker, delivered to its inbox. The locker's other
// waiters on the key are not woken (they are behind it in line). It returns
// the lease id of a grant for which no inbox is open, "" otherwise. h.mu is
// held.
func (h *wakeHub) deliver(ch *hubChannel, payload string) (orphan string) {
	if w := ch.find(payload); w != nil {
		signal(w.c)
		return ""
	}
	id, g, ok := parseGrant(payload)
	if !ok {
		return ""
	}
	if in := h.inboxes[id]; in != nil {
		in.grant = g
		signal(in.c)
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
