package locking

import (
	"context"
	"errors"
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
// woken to retry, and no other process reads the message.
type wakeHub struct {
	client redis.UniversalClient

	mu       sync.Mutex
	ps       *redis.PubSub
	closed   bool
	channels map[string]*hubChannel
}

// subscriptionLinger is how long a release channel stays subscribed without
// waiters.
const subscriptionLinger = time.Second

type hubChannel struct {
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
}

func (h *wakeHub) newWaiter(channel, id string) *waiter {
	return &waiter{hub: h, channel: channel, id: id, c: make(chan struct{}, 1)}
}

// attach returns a waiter for lease id on channel when the hub's
// subscription to it is confirmed and standing, without a round trip; nil
// otherwise. Every release published after attach returns reaches the
// waiter, or a reconnect wakes it.
func (h *wakeHub) attach(channel, id string) *waiter {
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
func (h *wakeHub) watch(ctx context.Context, channel, id string) (*waiter, error) {
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
		ch = &hubChannel{waiters: map[*waiter]struct{}{}, ready: make(chan struct{})}
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

// drain forgets a wake-up that arrived before the next attempt: its reply
// is newer.
func (w *waiter) drain() {
	select {
	case <-w.c:
	default:
	}
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
				ch.wake(m.Payload)
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

// wake delivers a release message naming next, the lease id of the waiter
// that may claim the lease: that waiter is woken, the process's others on
// the key are not (they are behind it in line).
func (ch *hubChannel) wake(next string) {
	for w := range ch.waiters {
		if w.id == next {
			signal(w.c)
			return
		}
	}
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
