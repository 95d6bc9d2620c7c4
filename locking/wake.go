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
type wakeHub struct {
	client redis.UniversalClient

	mu       sync.Mutex
	ps       *redis.PubSub
	closed   bool
	channels map[string]*hubChannel
}

type hubChannel struct {
	waiters   map[*waiter]struct{}
	confirmed bool
	ready     chan struct{} // closed when the subscription is confirmed
}

// waiter is one Acquire waiting on a release channel.
type waiter struct {
	hub     *wakeHub
	channel string
	c       chan struct{} // a pending wake-up; buffered 1
}

// watch subscribes a waiter to channel and returns once Redis has confirmed
// the subscription, so that any release published afterwards reaches it.
func (h *wakeHub) watch(ctx context.Context, channel string) (*waiter, error) {
	w := &waiter{hub: h, channel: channel, c: make(chan struct{}, 1)}
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
	ch.waiters[w] = struct{}{}
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

// drain forgets a wake-up that arrived before the next attempt.
func (w *waiter) drain() {
	select {
	case <-w.c:
	default:
	}
}

// stop unsubscribes the waiter; the channel is unsubscribed with its last one.
func (w *waiter) stop() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[w.channel]
	if ch == nil {
		return
	}
	delete(ch.waiters, w)
	if len(ch.waiters) == 0 && !h.closed {
		delete(h.channels, w.channel)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = h.ps.Unsubscribe(ctx, w.channel)
		cancel()
	}
}

// receive reads the pub/sub connection until the hub is closed. go-redis
// reconnects and resubscribes after an error; waiters are woken then, since a
// release may have been missed while disconnected.
func (h *wakeHub) receive(ps *redis.PubSub) {
	backoff := 10 * time.Millisecond
	for {
		msg, err := ps.Receive(context.Background())
		if err != nil {
			h.mu.Lock()
			closed := h.closed
			if !closed {
				for _, ch := range h.channels {
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
				close(ch.ready)
			}
		case *redis.Message:
			if ch := h.channels[m.Channel]; ch != nil {
				ch.wakeAll()
			}
		}
		h.mu.Unlock()
	}
}

func (ch *hubChannel) wakeAll() {
	for w := range ch.waiters {
		select {
		case w.c <- struct{}{}:
		default:
		}
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
	if h.ps == nil {
		return nil
	}
	return h.ps.Close()
}
