package locking

import (
	"sync"
	"time"
)

// watchdog runs the refreshes of every Redis lease in the process from one
// timer. A timer per lease cost a wake-up of another thread on each Acquire:
// a new timer due before all others (the usual case, one lease at a time)
// makes the runtime wake the network poller. This timer stays armed when a
// lease ends, so the next lease, due later, leaves it alone; when it fires
// with nothing due it re-arms for the earliest lease, if any.
type watchdog struct {
	mu    sync.Mutex
	timer *time.Timer
	next  time.Time // when the timer fires; zero while it is not armed
	due   map[*redisLease]time.Time
}

var leaseWatchdog watchdog

// schedule runs le.tick (in a goroutine of its own) after d.
func (w *watchdog) schedule(le *redisLease, d time.Duration) {
	at := time.Now().Add(d)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.due == nil {
		w.due = map[*redisLease]time.Time{}
	}
	w.due[le] = at
	w.armLocked(at)
}

// remove forgets le's pending tick.
func (w *watchdog) remove(le *redisLease) {
	w.mu.Lock()
	delete(w.due, le)
	w.mu.Unlock()
}

func (w *watchdog) armLocked(at time.Time) {
	if !w.next.IsZero() && !at.Before(w.next) {
		return
	}
	w.next = at
	if w.timer == nil {
		w.timer = time.AfterFunc(time.Until(at), w.fire)
		return
	}
	w.timer.Reset(time.Until(at))
}

func (w *watchdog) fire() {
	now := time.Now()
	var run []*redisLease
	w.mu.Lock()
	w.next = time.Time{}
	var earliest time.Time
	for le, at := range w.due {
		if !at.After(now) {
			run = append(run, le)
			delete(w.due, le)
		} else if earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
	}
	if !earliest.IsZero() {
		w.armLocked(earliest)
	}
	w.mu.Unlock()
	for _, le := range run {
		go le.tick()
	}
}
