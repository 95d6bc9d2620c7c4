package locking

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/bootclock"
)

func init() { helpers["queuewait"] = helperQueueWait }

// helperQueueWait waits for the lease on KEY of VOLUME and prints "obtained"
// if it ever gets it; the test kills it while it waits in line.
func helperQueueWait() error {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	l := NewRedisLocker(c, os.Getenv("VOLUME"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	le, err := l.Acquire(ctx, os.Getenv("KEY"), 20*time.Second)
	if err != nil {
		return err
	}
	fmt.Println("obtained", le.ID())
	return le.Release(context.Background(), nil, os.Getenv("KEY"))
}

// attemptLog records every run of the acquire script: which lease id asked,
// and when.
type attemptLog struct {
	mu sync.Mutex
	at []attempt
}

type attempt struct {
	id string
	at time.Time
}

func (a *attemptLog) add(id string) {
	a.mu.Lock()
	a.at = append(a.at, attempt{id, time.Now()})
	a.mu.Unlock()
}

// since returns the attempts recorded after the first n.
func (a *attemptLog) since(n int) []attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.at[n:])
}

func (a *attemptLog) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// perID counts the attempts of each lease id.
func (a *attemptLog) perID() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[string]int{}
	for _, x := range a.at {
		m[x.id]++
	}
	return m
}

// waitUntil polls cond until it holds, failing the test after within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %v: %s", within, what)
		}
	}
}

// wakeChannel returns l's release channel for key: the one its waiters
// subscribe to.
func wakeChannel(l *RedisLocker, key string) string {
	return l.Keys(key).WakeChannel(newLeaseID(l.idPrefix))
}

// hubWaiters returns how many waiters l's hub has on channel, and whether
// Redis has confirmed the subscription.
func hubWaiters(l *RedisLocker, channel string) (int, bool) {
	l.hub.mu.Lock()
	defer l.hub.mu.Unlock()
	ch := l.hub.channels[channel]
	if ch == nil {
		return 0, false
	}
	return len(ch.waiters), ch.confirmed
}

// queueWaiters starts n waiters for key, one after another so that they
// queue in that order, and returns once each is in line and will hear of a
// release: it joined the locker's confirmed subscription before an attempt,
// or subscribed after one and retried once confirmed. Each obtained lease
// (or nil) arrives on the channel.
func queueWaiters(t *testing.T, ctx context.Context, l *RedisLocker, log *attemptLog, key string, n int) <-chan Lease {
	t.Helper()
	channel := wakeChannel(l, key)
	got := make(chan Lease, n)
	for i := 0; i < n; i++ {
		known := log.perID()
		_, joined := hubWaiters(l, channel)
		need := 2
		if joined {
			need = 1
		}
		go func() {
			le, err := l.Acquire(ctx, key, 20*time.Second)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("waiter: %v", err)
				}
				got <- nil
				return
			}
			got <- le
		}()
		waitUntil(t, 10*time.Second, fmt.Sprintf("waiter %d queued and subscribed", i), func() bool {
			// An attempt is logged before its script runs: the waiter is
			// in line once Redis's queue holds it.
			tried := false
			for id, c := range log.perID() {
				if _, old := known[id]; !old && c >= need {
					tried = l.client.ZScore(ctx, l.Keys(key).Queue, id).Err() == nil
				}
			}
			w, ok := hubWaiters(l, channel)
			return tried && ok && w == i+1
		})
	}
	return got
}

func receiveLease(t *testing.T, got <-chan Lease, within time.Duration, what string) Lease {
	t.Helper()
	select {
	case le := <-got:
		if le == nil {
			t.Fatalf("%s: Acquire failed", what)
		}
		return le
	case <-time.After(within):
		t.Fatalf("%s: no lease within %v", what, within)
	}
	return nil
}

// loggedLocker returns a locker on a volume of its own whose acquire
// attempts are logged.
func loggedLocker(t *testing.T) (*RedisLocker, *attemptLog) {
	t.Helper()
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	t.Cleanup(func() { l.Close() })
	log := &attemptLog{}
	l.attempted = log.add
	return l, log
}

// loggedHolder returns a locker whose acquire attempts are logged, a context
// for the test, and a lease the locker holds on "k" for 20 s.
func loggedHolder(t *testing.T) (*RedisLocker, *attemptLog, context.Context, Lease) {
	t.Helper()
	l, log := loggedLocker(t)
	ctx := ctxTimeout(t, 60*time.Second)
	holder, err := l.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return l, log, ctx, holder
}

// TestReleaseWakesOnlyHead: with several waiters in line, a release hands
// the lease to the first in line, which takes it without running the acquire
// script again (its process listens on its release channel). The others hear
// nothing of it: each keeps retrying on its own, no sooner than the claim
// grace after its previous attempt, and no later than a generous bound. The
// grace is 1 s here, so that a first in line slow to wake on a loaded machine
// still claims its turn.
func TestReleaseWakesOnlyHead(t *testing.T) {
	l, log, ctx, holder := loggedHolder(t)
	l.setQueueGrace(time.Second)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const n = 4
	got := queueWaiters(t, wctx, l, log, "k", n)
	line, err := l.client.ZRange(ctx, l.Keys("k").Queue, 0, -1).Result()
	if err != nil || len(line) != n {
		t.Fatalf("queue = %q, %v; want %d waiters", line, err, n)
	}
	head := line[0]

	// Release just after a waiter behind the head retried, so that a
	// release waking it would make it retry well within the grace.
	mark := log.len()
	waitUntil(t, 5*time.Second, "a waiter behind the first in line retries", func() bool {
		for _, a := range log.since(mark) {
			if a.id != head {
				return true
			}
		}
		return false
	})
	mark = log.len()
	if err := holder.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	le := receiveLease(t, got, 10*time.Second, "first in line after the release")
	defer le.Release(context.Background(), nil, "k")
	if le.ID() != head {
		t.Fatalf("lease went to %s; want the first in line %s", le.ID(), head)
	}
	before := log.since(0)[:mark]
	after := log.since(mark)
	tries := 0
	for _, a := range after {
		if a.id == head {
			tries++
		}
	}
	if tries != 0 {
		t.Errorf("the first in line ran the acquire script %d times after the release; want 0 (the release hands it the lease)", tries)
	}
	if le.Token() <= holder.Token() {
		t.Errorf("lease handed over with token %d; want above the holder's %d", le.Token(), holder.Token())
	}
	if v, err := l.client.Get(ctx, l.Keys("k").Lock).Result(); err != nil || v != head {
		t.Errorf("lock holds %q, %v; want the first in line %s", v, err, head)
	}
	if rem := le.Remaining(); rem < 10*time.Second {
		t.Errorf("lease handed over with %v of validity left; want most of its 20s TTL", rem)
	}
	// The others still retry (the first in line could have been dead), not
	// only after the holder's 20s PTTL, and none sooner than the grace after
	// its attempt before the release.
	for _, id := range line[1:] {
		var prev time.Time
		for _, a := range before {
			if a.id == id {
				prev = a.at
			}
		}
		waitUntil(t, 5*time.Second, "waiter "+id+" retries after the release", func() bool {
			return slices.ContainsFunc(log.since(mark), func(a attempt) bool { return a.id == id })
		})
		for _, a := range log.since(mark) {
			if a.id == id {
				if gap := a.at.Sub(prev); gap < l.grace {
					t.Errorf("waiter %s ran the acquire script %v after its previous attempt, across a release that named %s; want no wake-up, its next attempt no sooner than the %v grace",
						id, gap, head, l.grace)
				}
				break
			}
		}
	}
}

// releaseSkipsHead releases holder's lease on "k" and checks that the waiter
// behind a first in line that is gone (how: "dead", "killed") gets it within
// 5 s, and no sooner than half the claim grace: the grace is honoured.
func releaseSkipsHead(t *testing.T, ctx context.Context, holder Lease, got <-chan Lease, how string) {
	t.Helper()
	released := time.Now()
	if err := holder.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	le := receiveLease(t, got, 5*time.Second, "waiter behind a "+how+" first in line")
	defer le.Release(context.Background(), nil, "k")
	took := time.Since(released)
	t.Logf("obtained %v after the release (grace %v)", took, queueGrace)
	if took < queueGrace/2 {
		t.Errorf("obtained %v after the release; want the %s first in line's %v grace honoured", took, how, queueGrace)
	}
}

// TestDeadHeadSkipped: the first in line queued and stopped retrying
// without leaving the line (its goroutine gone). A release names it; the
// waiter behind it gets the lease once its grace is over, long before the
// holder's TTL would have ended its wait.
func TestDeadHeadSkipped(t *testing.T) {
	l, log, ctx, holder := loggedHolder(t)
	const dead = "dead/1/head"
	if res, err := l.acquireOnce(ctx, l.Keys("k"), dead, 20*time.Second); err != nil || res.ok {
		t.Fatalf("dead waiter's attempt: %+v %v; want queued", res, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got := queueWaiters(t, wctx, l, log, "k", 1)

	releaseSkipsHead(t, ctx, holder, got, "dead")
	if s, err := l.client.ZScore(ctx, l.Keys("k").Queue, dead).Result(); err == nil {
		t.Errorf("dead waiter still in line (score %v); want its expired place dropped", s)
	}
}

// TestGrantToAbsentWaiterReleased: a release hands the lease to the first
// in line, a lease id of this process that no Acquire waits for any more (it
// queued, then went away without leaving the line). The process releases
// that lease at once, and the waiter behind gets it, long before the handed
// over lease's 20 s TTL would have ended.
func TestGrantToAbsentWaiterReleased(t *testing.T) {
	l, log, ctx, holder := loggedHolder(t)
	gone := l.idPrefix + "/00000000000000ab" // the locker's release channel
	if res, err := l.acquireOnce(ctx, l.Keys("k"), gone, 20*time.Second); err != nil || res.ok {
		t.Fatalf("absent waiter's attempt: %+v %v; want queued", res, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got := queueWaiters(t, wctx, l, log, "k", 1)
	released := time.Now()
	if err := holder.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	le := receiveLease(t, got, 5*time.Second, "waiter behind a lease handed to no one")
	defer le.Release(context.Background(), nil, "k")
	t.Logf("obtained %v after the release", time.Since(released))
	if le.Token() <= holder.Token()+1 {
		t.Errorf("token %d; want above %d, the one handed to the absent waiter", le.Token(), holder.Token()+1)
	}
	if _, err := l.client.ZScore(ctx, l.Keys("k").Queue, gone).Result(); err == nil {
		t.Errorf("absent waiter still in line")
	}
}

// TestKilledHeadSkipped: as TestDeadHeadSkipped, with the first in line a
// process killed (SIGKILL) while it waits.
func TestKilledHeadSkipped(t *testing.T) {
	r := needRedis(t)
	l, log := loggedLocker(t)
	vol := l.volumeID
	ctx := ctxTimeout(t, 60*time.Second)
	keys := l.Keys("k")
	holder, err := l.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := startHelper(t, "queuewait", "REDIS_ADDR="+r.Addr(), "VOLUME="+vol, "KEY=k")
	waitUntil(t, 10*time.Second, "helper in line and subscribed to its release channel", func() bool {
		line, _ := l.client.ZRange(ctx, keys.Queue, 0, -1).Result()
		if len(line) != 1 {
			return false
		}
		ch := keys.WakeChannel(line[0])
		subs, _ := l.client.PubSubNumSub(ctx, ch).Result()
		return ch != wakeChannel(l, "k") && subs[ch] == 1
	})
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got := queueWaiters(t, wctx, l, log, "k", 1)
	line, err := l.client.ZRange(ctx, keys.Queue, 0, -1).Result()
	if err != nil || len(line) != 2 || log.perID()[line[0]] != 0 {
		t.Fatalf("queue = %q, %v; want the helper first, then the waiter", line, err)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	// Until Redis has seen the helper's connection close, the release would
	// hand the lease to it (its channel still has a subscriber), and the key
	// would stay held for the TTL: the case under test is the one after.
	headCh := keys.WakeChannel(line[0])
	waitUntil(t, 10*time.Second, "the killed helper's subscription gone", func() bool {
		subs, err := l.client.PubSubNumSub(ctx, headCh).Result()
		return err == nil && subs[headCh] == 0
	})

	releaseSkipsHead(t, ctx, holder, got, "killed")
	if l, ok := <-p.lines; ok {
		t.Errorf("killed helper said %q", l)
	}
}

// TestReleaseMessageNamesHead checks what a release publishes: the lease id
// of the first in line whose place has not expired, on the release channel
// of that waiter's process only; nothing when no one is in line. When that
// process is subscribed to its channel (here the one of "g/1"), the release
// hands it the lease instead, and the message says so.
func TestReleaseMessageNamesHead(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 20*time.Second)
	keys := l.Keys("k")
	// Every channel of the key's, the bare prefix included.
	sub := c.PSubscribe(ctx, keys.ReleaseChannel+"*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// Process g/1 listens on its own channel.
	gsub := c.Subscribe(ctx, keys.ReleaseChannel+":g/1")
	defer gsub.Close()
	if _, err := gsub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const end = "end of release"
	const granted = "granted" // stands for the grant message to g/1/c
	tests := []struct {
		name  string
		queue []string // attempts while held, in arrival order
		drop  []string // places removed before the release
		want  []string // channel, payload; nil for no message
	}{
		{"no one in line", nil, nil, nil},
		{"first of three", []string{"h/1/a", "h/2/b", "g/1/c"}, nil, []string{keys.ReleaseChannel + ":h/1", "h/1/a"}},
		{"first expired", []string{"h/1/a", "h/2/b"}, []string{"h/1/a"}, []string{keys.ReleaseChannel + ":h/2", "h/2/b"}},
		{"slash in host", []string{"a/b/3/c"}, nil, []string{keys.ReleaseChannel + ":a/b/3", "a/b/3/c"}},
		{"no slash", []string{"solo"}, nil, []string{keys.ReleaseChannel + ":solo", "solo"}},
		{"all expired", []string{"h/1/a"}, []string{"h/1/a"}, nil},
		{"first listens", []string{"g/1/c", "h/1/a"}, nil, []string{keys.ReleaseChannel + ":g/1", granted}},
		{"first expired, next listens", []string{"h/1/a", "g/1/c"}, []string{"h/1/a"}, []string{keys.ReleaseChannel + ":g/1", granted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			le, err := l.Acquire(ctx, "k", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.queue {
				if res, err := l.acquireOnce(ctx, keys, id, time.Second); err != nil || res.ok {
					t.Fatalf("attempt of %s: %+v %v; want queued", id, res, err)
				}
				time.Sleep(2 * time.Millisecond) // distinct arrival times
			}
			for _, id := range tc.drop {
				// An expired place: its claim deadline is in the past.
				if err := c.ZAdd(ctx, keys.QueueExpiry, redis.Z{Score: 1, Member: id}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := le.Release(ctx, nil, "k"); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.want)
			if len(want) > 1 && want[1] == granted {
				want[1] = fmt.Sprintf("+%d %d %d:%s", le.Token()+1, (10 * time.Second).Milliseconds(), len("g/1/c"), "g/1/c")
				if v, err := c.Get(ctx, keys.Lock).Result(); err != nil || v != "g/1/c" {
					t.Errorf("lock holds %q, %v after the release; want the lease handed to g/1/c", v, err)
				}
				if tok, err := c.Get(ctx, keys.Token).Uint64(); err != nil || tok != le.Token()+1 {
					t.Errorf("token %d, %v after the release; want %d", tok, err, le.Token()+1)
				}
				if pttl, err := c.PTTL(ctx, keys.Lock).Result(); err != nil || pttl < 5*time.Second || pttl > 10*time.Second {
					t.Errorf("lock PTTL %v, %v after the release; want the releaser's TTL (10s)", pttl, err)
				}
				if _, err := c.ZScore(ctx, keys.Queue, "g/1/c").Result(); err == nil {
					t.Errorf("g/1/c still in line after the lease was handed to it")
				}
				if _, err := c.ZScore(ctx, keys.Queue, "h/1/a").Result(); err != nil && !slices.Contains(tc.drop, "h/1/a") {
					t.Errorf("h/1/a left the line when the lease was handed to g/1/c: %v", err)
				}
				c.Del(ctx, keys.Lock, keys.Token)
			}
			// Published after the release: the subscriber receives it after
			// whatever the release published.
			if err := c.Publish(ctx, keys.ReleaseChannel+":marker", end).Err(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				msg, err := sub.ReceiveMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if msg.Payload == end {
					break
				}
				got = append(got, msg.Channel, msg.Payload)
			}
			if !slices.Equal(got, want) {
				t.Errorf("release published (channel, payload) %q; want %q", got, want)
			}
			if len(tc.want) > 0 && tc.want[1] != granted && keys.WakeChannel(tc.want[1]) != tc.want[0] {
				t.Errorf("WakeChannel(%q) = %q; want the channel the release used, %q", tc.want[1], keys.WakeChannel(tc.want[1]), tc.want[0])
			}
			for _, id := range tc.drop {
				if _, err := c.ZScore(ctx, keys.Queue, id).Result(); err == nil {
					t.Errorf("expired place of %s still in line after the release", id)
				}
			}
			c.Del(ctx, keys.Queue, keys.QueueExpiry)
		})
	}
}

// TestWakeRouting checks which waiters a release message wakes: only the one
// it names, or the one it hands the lease to (whose Acquire's inbox then
// holds that grant, even before it joined the subscription). A grant for a
// lease id with no Acquire running is returned, to be released.
func TestWakeRouting(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		woken   []string
		grant   *grant // what the woken Acquire's inbox holds
		orphan  string
	}{
		{"names a waiter", "b", []string{"b"}, nil, ""},
		{"names a waiter elsewhere", "x", nil, nil, ""},
		{"names no one", "", nil, nil, ""},
		{"names an Acquire not yet waiting", "d", nil, nil, ""},
		{"hands the lease to a waiter", `+7 1500 1:b{"token":6}`, []string{"b"}, &grant{token: 7, ttl: 1500 * time.Millisecond, committed: `{"token":6}`}, ""},
		{"hands the lease over, nothing committed", "+7 1500 1:c", []string{"c"}, &grant{token: 7, ttl: 1500 * time.Millisecond}, ""},
		{"hands the lease to an Acquire not yet waiting", "+7 1500 1:d", []string{"d"}, &grant{token: 7, ttl: 1500 * time.Millisecond}, ""},
		{"hands the lease to a lease id no Acquire asks for", "+7 1500 1:x", nil, nil, "x"},
		{"a length past the end", "+7 1500 9:b", nil, nil, ""},
		{"no token", "+ 1500 1:b", nil, nil, ""},
		{"token 0", "+0 1500 1:b", nil, nil, ""},
		{"no TTL", "+7 0 1:b", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &wakeHub{}
			ch := &hubChannel{waiters: map[*waiter]struct{}{}}
			ins := map[string]*inbox{}
			for _, id := range []string{"a", "b", "c", "d"} {
				ins[id] = h.openInbox(id)
				if id != "d" { // d's Acquire has not joined the subscription
					ch.add(h.newWaiter("released:h/1/l", id, ins[id].c))
				}
			}
			h.mu.Lock()
			got := h.deliver(ch, tc.payload)
			h.deliver(ch, tc.payload) // a second message while one is pending is absorbed
			h.mu.Unlock()
			if got != tc.orphan {
				t.Errorf("deliver returned %q; want %q (a grant no Acquire takes)", got, tc.orphan)
			}
			for id, in := range ins {
				if got, want := len(in.c) == 1, slices.Contains(tc.woken, id); got != want {
					t.Errorf("%s woken = %v; want %v", id, got, want)
				}
				var want *grant
				if slices.Contains(tc.woken, id) {
					want = tc.grant
				}
				if g := in.take(); (g == nil) != (want == nil) || g != nil && *g != *want {
					t.Errorf("%s's inbox holds grant %+v; want %+v", id, g, want)
				}
				in.grant = &grant{token: 1}
				in.drain()
				if len(in.c) != 0 || in.grant != nil {
					t.Errorf("%s: drain left %d wake-ups and grant %+v", id, len(in.c), in.grant)
				}
			}
		})
	}
}

// TestReconnectWakesWaiters: when the pub/sub connection drops, a release may
// have been missed, so every waiter retries at once instead of sleeping on
// the holder's PTTL. Each waiter here is first in line on its own key, where
// only a release or a reconnect would wake it before the holder's 20s PTTL.
func TestReconnectWakesWaiters(t *testing.T) {
	l, log := loggedLocker(t)
	ctx := ctxTimeout(t, 60*time.Second)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys := []string{"k1", "k2"}
	for _, k := range keys {
		holder, err := l.Acquire(ctx, k, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Release(context.Background(), nil, k)
		queueWaiters(t, wctx, l, log, k, 1)
	}
	mark := log.len()
	// The hub's connection is the only pub/sub client subscribed to these
	// keys' release channels.
	if err := l.client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "every waiter retries after the pub/sub connection dropped", func() bool {
		seen := map[string]bool{}
		for _, a := range log.since(mark) {
			seen[a.id] = true
		}
		return len(seen) == len(keys)
	})
	// go-redis subscribes again on the new connection; a waiter arriving
	// afterwards can join it.
	for _, k := range keys {
		waitUntil(t, 5*time.Second, "subscription to "+k+"'s release channel confirmed again after the reconnect", func() bool {
			w, ok := hubWaiters(l, wakeChannel(l, k))
			return ok && w == 1
		})
	}
}

// TestSubscriptionLingers: a waiter that arrives while the locker's
// subscription to the key's release channel still stands joins it without
// subscribing again, and needs one attempt to queue; the channel is
// unsubscribed once it has had no waiter for the linger.
func TestSubscriptionLingers(t *testing.T) {
	l, log := loggedLocker(t)
	ctx := ctxTimeout(t, 30*time.Second)
	channel := wakeChannel(l, "k")
	numSub := func() int64 {
		m, err := l.client.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m[channel]
	}
	contend := func(what string) (attempts int) {
		t.Helper()
		holder, err := l.Acquire(ctx, "k", 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		mark := log.len()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		got := queueWaiters(t, wctx, l, log, "k", 1)
		attempts = len(log.since(mark))
		if err := holder.Release(ctx, nil, "k"); err != nil {
			t.Fatal(err)
		}
		le := receiveLease(t, got, 5*time.Second, what)
		if err := le.Release(ctx, nil, "k"); err != nil {
			t.Fatal(err)
		}
		return attempts
	}
	if n := contend("first waiter"); n != 2 {
		t.Errorf("first waiter ran the acquire script %d times before the release; want 2 (queue, then retry once subscribed)", n)
	}
	if n := numSub(); n != 1 {
		t.Fatalf("release channel has %d subscribers after the waiter left; want 1 (lingering)", n)
	}
	if n := contend("second waiter"); n != 1 {
		t.Errorf("waiter joining a standing subscription ran the acquire script %d times before the release; want 1", n)
	}
	waitUntil(t, subscriptionLinger+5*time.Second, "release channel unsubscribed after the linger", func() bool {
		return numSub() == 0
	})
	if w, ok := hubWaiters(l, channel); ok || w != 0 {
		t.Errorf("hub still holds the channel (%d waiters, confirmed %v) after the linger", w, ok)
	}
}

// TestGrantValidity: a lease handed over counts its validity from the
// waiter's last refused attempt (the release came after it reached Redis),
// and for no longer than both its own TTL and the one Redis holds it for;
// with less than half of that left, the waiter does not use the grant as it
// is (it retries, which extends the lease from a new send time).
func TestGrantValidity(t *testing.T) {
	l := NewRedisLocker(testClient(t, needRedis(t).Addr()), uniqueVolume(t))
	keys := l.Keys("k")
	ctx := context.Background()
	const s = time.Second
	tests := []struct {
		name            string
		ttl, grant, ago time.Duration
		want            time.Duration // validity left; 0: grant not used
	}{
		{"refused just now", 10 * s, 10 * s, 0, validity(10 * s)},
		{"handed over for less than its TTL", 10 * s, 4 * s, 0, validity(4 * s)},
		{"handed over for more than its TTL", 4 * s, 10 * s, 0, validity(4 * s)},
		{"refused a while ago", 10 * s, 10 * s, 3 * s, validity(10*s) - 3*s},
		{"refused too long ago", 10 * s, 10 * s, 6 * s, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			le := l.granted(ctx, "k", keys, "gone/1/x", tc.ttl, bootclock.Now()-tc.ago, &grant{token: 3, ttl: tc.grant, committed: `{"token":2}`})
			if tc.want == 0 {
				if le != nil {
					le.Abandon()
					t.Fatalf("grant used with %v of validity left; want a retry instead", le.Remaining())
				}
				return
			}
			if le == nil {
				t.Fatal("grant not used")
			}
			defer le.Abandon()
			if rem := le.Remaining(); rem > tc.want || rem < tc.want-s {
				t.Errorf("validity left %v; want %v (less the time this test took)", rem, tc.want)
			}
			if le.Token() != 3 {
				t.Errorf("token %d; want the grant's 3", le.Token())
			}
			if v, ok := le.(*redisLease).Committed(); !ok || v.Token != 2 {
				t.Errorf("committed %+v, %v; want the grant's (token 2)", v, ok)
			}
		})
	}
}

// TestLateGrantKeepsLease: a message handing a lease id the lease that
// arrives after its Acquire already holds the lease (it took it with its own
// attempt while the message was on its way) is not taken for one nobody
// wants: the lease stays held, and its release finds it so.
func TestLateGrantKeepsLease(t *testing.T) {
	l, log, ctx, holder := loggedHolder(t)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got := queueWaiters(t, wctx, l, log, "k", 1)
	if err := holder.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	le := receiveLease(t, got, 5*time.Second, "waiter after the release")
	keys := l.Keys("k")
	// The same grant once more, as a late copy of it would arrive.
	late := fmt.Sprintf("+%d %d %d:%s", le.Token(), (20 * time.Second).Milliseconds(), len(le.ID()), le.ID())
	if n, err := l.client.Publish(ctx, keys.WakeChannel(le.ID()), late).Result(); err != nil || n != 1 {
		t.Fatalf("publish: %d receivers, %v; want the locker's subscription", n, err)
	}
	// A marker published after the late grant on the same channel, as a
	// grant for an inbox of the test's: once the locker has delivered it,
	// it has handled the late grant (and started an orphan's release, if it
	// took it for one).
	marker := l.idPrefix + "/marker"
	in := l.hub.openInbox(marker)
	defer l.hub.closeInbox(marker)
	if err := l.client.Publish(ctx, keys.WakeChannel(le.ID()), fmt.Sprintf("+1 1000 %d:%s", len(marker), marker)).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.c:
	case <-time.After(5 * time.Second):
		t.Fatal("the locker did not deliver the marker within 5s")
	}
	time.Sleep(200 * time.Millisecond) // an orphan's release, once started, has run by now
	if v, err := l.client.Get(ctx, keys.Lock).Result(); err != nil || v != le.ID() {
		t.Errorf("lock holds %q, %v after a late grant; want the holder %s", v, err, le.ID())
	}
	if err := le.Release(ctx, nil, "k"); err != nil {
		t.Errorf("release after a late grant: %v; want the lease still held", err)
	}
}
