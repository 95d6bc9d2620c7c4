package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Change is one version of a watched file, as Watch delivers it.
type Change struct {
	// Event is the change event: the key and the version (token, sha256,
	// size, writer host and pid, commit time, Deleted).
	locking.Event
	// Data is the version's content, verified against Event.SHA256 and
	// Event.Size; nil when Deleted.
	Data []byte
	// Initial marks the version that was current when Watch started
	// (WatchInitial).
	Initial bool
}

// DefaultWatchInterval is how often Watch polls the volume's committed record
// when nothing rings: the fallback for a lost, late or never published change
// event, and the only source in local mode on a network filesystem.
const DefaultWatchInterval = time.Second

// WatchOption configures Watch.
type WatchOption func(*watchConfig)

type watchConfig struct {
	interval time.Duration
	initial  bool
	after    uint64
	afterSet bool
	// started, set only by tests, is called once the starting point is set
	// (and the doorbells are up): every version committed after it returns
	// is delivered.
	started func()
	// ping, set only by tests, replaces subscriptionPing.
	ping time.Duration
}

// WatchInterval sets how often the committed record is polled (default
// DefaultWatchInterval). A change event or, in local mode on Linux, an inotify
// event on the lock file checks at once.
func WatchInterval(d time.Duration) WatchOption {
	return func(w *watchConfig) {
		if d > 0 {
			w.interval = d
		}
	}
}

// WatchInitial delivers the version that is current when Watch starts (with
// Change.Initial set) before any newer one: init-once-then-watch is the usual
// start of a replica. A file with no record yet (created outside sharedwrite)
// is delivered as it is, with token 0.
func WatchInitial() WatchOption { return func(w *watchConfig) { w.initial = true } }

// WatchAfter delivers only versions whose token is above token: a watcher that
// kept the last token it handled resumes where it stopped. (A later version
// committed under that same token, by an operation nested in the same Lock,
// is not delivered either.)
func WatchAfter(token uint64) WatchOption {
	return func(w *watchConfig) { w.after, w.afterSet = token, true }
}

// Watch calls fn with each new version of name, once, in token order, until ctx
// ends or fn returns an error. Versions committed under one lease (operations
// nested in Lock, a size rotation and its append) share a token; each is
// delivered, in the order they were committed, when Watch hears of each (see
// below).
//
// The volume's committed record is the truth; in Redis mode the change event
// published by each commit is the doorbell. Watch also polls the record (every
// WatchInterval), and re-checks after a Redis reconnect, so a lost message, a
// writer that crashed between its commit and its publish, or a Redis restart
// never hides the newest version. A poll sees only the newest, though:
// versions committed between two polls while no change event reaches Watch
// (Redis down, or Watch resubscribing after it is back) are skipped, and in
// Redis mode so are all but the last of the versions that operations nested
// in one Lock commit (they publish no event of their own; the Lock publishes
// the last when it ends). Before delivering, it re-reads the file until its
// sha256 and size match the version (another host may see the old content
// for a while after a rename), with backoff and without limit other than ctx:
// it never delivers old content as a new version. Versions superseded while it
// waits are skipped: it delivers the newest it knows of, never out of order. A
// version made by a removal is delivered with Deleted set and no data.
//
// A Redis outage is logged once (and its end once); Watch keeps polling the
// volume meanwhile and resubscribes by itself. fn runs on Watch's goroutine,
// one call at a time; while it runs, nothing is delivered. Watch returns fn's
// error, or context.Cause(ctx) when ctx ends; the coordinator's Close ends it
// with ErrClosed (and waits for fn to return). A version larger than the read
// limit (WithMaxReadSize) cannot be delivered: Watch ends with an error
// wrapping ErrTooLarge and syscall.EFBIG. A file read larger than the limit
// while the version awaited is within it (a stale view) is re-read, as any
// file that does not match yet; of a log whose unacknowledged tail puts it
// over the limit, only the committed prefix is read. A name that is not a
// regular file (a directory, a FIFO) is refused (writer.ErrNotRegular), as
// is a nil fn. A lock record that is corrupt, at the start or later, ends
// Watch with ErrCorruptRecord, as it refuses every operation on name.
//
// The one exception to "never old content": with WatchInitial, a file that
// still matches no recorded version after the stale-view window (edited
// outside sharedwrite) is delivered as the initial version (token 0), with a
// warning, as ReadFile adopts it; not under Strict.
func (c *Coordinator) Watch(ctx context.Context, name string, fn func(ctx context.Context, ch Change) error, opts ...WatchOption) error {
	cfg := watchConfig{interval: DefaultWatchInterval}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return wrap("watch", name, err)
	}
	defer done()
	key, err := c.resolve(name)
	if err != nil {
		return err
	}
	if fn == nil {
		return wrap("watch", key, errNilFunc)
	}
	if _, err := c.regularOrAbsent("watch", key); err != nil {
		return err // a directory or a FIFO never gets a version to deliver
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &watcher{c: c, key: key, cfg: cfg, fn: fn, bell: make(chan struct{}, 1)}

	// The doorbells start before the starting point is read, so that a
	// version committed in between rings (a Redis subscription rings when
	// Redis confirms it, however late).
	if client := c.redisClient(); client != nil {
		sub := w.subscribe(ctx, client)
		defer sub()
	} else if stop := w.notify(ctx); stop != nil {
		defer stop()
	}
	if err := w.start(ctx); err != nil {
		return err
	}
	if cfg.started != nil {
		cfg.started()
	}
	return w.loop(ctx)
}

// watcher is the state of one Watch call.
type watcher struct {
	c    *Coordinator
	key  string
	cfg  watchConfig
	fn   func(context.Context, Change) error
	bell chan struct{}

	// last is the last version delivered (or the starting point); only
	// newer versions (newerVersion) are delivered.
	last locking.Version
	// after is WatchAfter's token: only versions above it are delivered.
	after uint64
	// initial is the newest version recorded at the start (WatchInitial):
	// the first delivery is marked Initial unless it is newer.
	initial   locking.Version
	delivered bool // something was delivered
	// hint is the newest version a change event announced: on a mount whose
	// cache still serves an old lock record it is newer than the record.
	hint hintBox

	// pendingSeen is the pending version the record showed last, and
	// pendingSince when it was first seen (see pendingShown).
	pendingSeen  locking.Version
	pendingSince time.Time

	waitingFor   uint64 // the token being waited for (0: none)
	waitingSince time.Time
	stale        int    // reads that did not match it yet
	warned       uint64 // the token a still-stale warning was logged for
	lastErr      string // the last read error logged (each is logged once)
}

// ring wakes the watcher's loop; it never blocks.
func (w *watcher) ring() {
	select {
	case w.bell <- struct{}{}:
	default:
	}
}

// start sets the starting point: the committed version now (the newest of the
// volume's record and Redis's copy), WatchAfter's token, or none with
// WatchInitial (which notes the version current now: committed, or pending
// when a holder is committing it or died before recording it).
func (w *watcher) start(ctx context.Context) error {
	if w.cfg.afterSet {
		w.after = w.cfg.after
		w.last = locking.Version{Token: w.cfg.after}
		return nil
	}
	rec, err := w.c.peekRecord(w.key)
	if err != nil {
		return err
	}
	cur := rec.Committed
	if v, ok := w.redisCommitted(ctx); ok && newerVersion(v, cur) {
		cur = v
		w.hint.offer(v)
	}
	if !w.cfg.initial {
		w.last = cur
		return nil
	}
	w.initial = cur
	if newerVersion(rec.Pending, cur) {
		w.initial = rec.Pending
	}
	if w.initial.Token != 0 {
		return nil
	}
	// No record: a file created outside sharedwrite is delivered as it is.
	ct, err := w.c.root.ReadVersion(ctx, w.key, w.c.readLimit(), w.c.viewInPlace())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap("read", w.key, err)
	}
	// The first commit may have landed between the record's read and the
	// file's, and the file may show it: then it is not an unrecorded file,
	// and the loop delivers it as the initial version, with its token.
	rec, err = w.c.peekRecord(w.key)
	if err != nil {
		return err
	}
	if w.initial = newest(rec); w.initial.Token != 0 || !ct.Exists {
		return nil
	}
	v := locking.Version{SHA256: ct.SHA256, Size: ct.Size, Length: ct.Size}
	return w.deliver(ctx, v, ct, true)
}

// loop checks, delivers and waits for the next doorbell, poll or retry.
func (w *watcher) loop(ctx context.Context) error {
	tick := time.NewTicker(w.cfg.interval)
	defer tick.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	var backoff time.Duration
	for {
		delivered, waiting, err := w.check(ctx)
		if err != nil {
			return err
		}
		if cerr := context.Cause(ctx); cerr != nil {
			return cerr
		}
		if delivered {
			backoff = 0
			continue // a newer version may already be there
		}
		var retryC <-chan time.Time
		if waiting {
			backoff = nextBackoff(backoff, min(w.cfg.interval, maxWatchBackoff))
			retry.Reset(backoff)
			retryC = retry.C
		} else {
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-w.bell:
		case <-tick.C:
		case <-retryC:
		}
		if retryC != nil && !retry.Stop() {
			select {
			case <-retry.C:
			default:
			}
		}
	}
}

// maxWatchBackoff caps the wait between re-reads of a file that does not yet
// match the version it should show.
const maxWatchBackoff = 250 * time.Millisecond

func nextBackoff(d, limit time.Duration) time.Duration {
	if d <= 0 {
		return 2 * time.Millisecond
	}
	return min(2*d, limit)
}

// newer reports whether v is newer than the last version delivered (and above
// WatchAfter's token).
func (w *watcher) newer(v locking.Version) bool {
	return v.Token > w.after && newerVersion(v, w.last)
}

// check reads the record and, when it names a version newer than the last
// delivered one, the file: it delivers the version the file shows, or reports
// that it is waiting for the file to catch up.
func (w *watcher) check(ctx context.Context) (delivered, waiting bool, err error) {
	if w.c.isClosed() {
		return false, false, wrap("watch", w.key, ErrClosed)
	}
	rec, err := w.c.peekRecord(w.key)
	if errors.Is(err, locking.ErrCorruptRecord) {
		// peekRecord re-read it past a write in progress: a record still
		// torn stays so until repair-record, and every operation on the key
		// refuses it meanwhile.
		return false, false, err
	}
	if err != nil {
		w.logOnce(ctx, "watch: lock record unreadable; retrying", err)
		return false, true, nil
	}
	target := rec.Committed
	if h := w.hint.get(); newerVersion(h, target) {
		target = h
	}
	// A pending version is delivered only when the file proves its rename
	// (renameShown, and on a volume with stale views pendingShown); an
	// append's or a rotation's never can, and is delivered
	// once committed (by its holder, or promoted by the next one).
	pending := rec.Pending
	if isLogVersion(pending) || !w.newer(pending) || !newerVersion(pending, target) {
		pending = locking.Version{}
	}
	wantTarget := w.newer(target)
	if !wantTarget && pending.Token == 0 {
		w.waitingFor = 0
		return false, false, nil
	}

	ct, err := w.c.root.ReadVersion(ctx, w.key, w.c.readLimit(), w.c.viewInPlace())
	prefixOnly := false
	if errors.Is(err, writer.ErrTooLarge) && wantTarget && pending.Token == 0 && isLogVersion(target) && w.fits(target, true) {
		// A log whose committed length is within the limit, but not the
		// file: an unacknowledged tail (a crashed appender's, which the next
		// append cuts) lies past it. Its committed prefix is all that is
		// delivered: read only that, or this would wait for the next append.
		ct, err = w.c.root.ReadVersion(ctx, w.key, w.c.readLimit(), w.c.viewInPlace(), writer.ReadPrefix(target.Size))
		prefixOnly = true
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if ctx.Err() != nil {
			return false, false, nil
		}
		if errors.Is(err, writer.ErrTooLarge) && !w.fits(target, wantTarget) && !w.fits(pending, pending.Token != 0) {
			return false, false, wrap("read", w.key, err)
		}
		w.logOnce(ctx, "watch: read failed; retrying", err)
		return false, true, nil
	}
	w.lastErr = ""
	switch {
	case pending.Token != 0 && renameShown(pending, rec.Committed, ct) && w.pendingShown(pending):
		// The pending version is visible: its holder renamed and has not
		// written committed yet, or died before it could.
		return true, false, w.deliver(ctx, pending, ct, false)
	case wantTarget && matches(target, ct):
		if isLogVersion(target) {
			// A log version matches by length only: the file read must
			// not be another generation that a rotation (or a rewrite)
			// put in place since the record was read.
			after, err := w.c.peekRecord(w.key)
			if err != nil || otherGeneration(after, target, ct) {
				return false, true, nil
			}
			if p := after.Pending; prefixOnly && p.Token != 0 && p.Generation > target.Generation {
				// A prefix cannot show whether the file is a newer whole
				// version still pending (otherGeneration compares the whole
				// file): wait for it to be committed or withdrawn.
				return false, true, nil
			}
		}
		return true, false, w.deliver(ctx, target, ct, false)
	}
	if !wantTarget {
		// Only a pending version, not shown to be visible (yet): a commit
		// in flight, or one that failed before its rename and will be
		// withdrawn. The record's next write rings; meanwhile the poll is
		// enough.
		return false, false, nil
	}
	w.stillStale(ctx, target.Token)
	if w.cfg.initial && !w.delivered && !w.c.cfg.strict && ct.Exists && time.Since(w.waitingSince) > w.c.staleWindow {
		// The initial delivery, still not matching the committed version
		// after the stale-view window: the file was edited outside
		// sharedwrite. It is adopted as the fresh reads adopt it (unless
		// Strict), so that a replica starting to watch gets its content;
		// versions committed later are awaited as always.
		w.c.log.WarnContext(ctx, "file matches no recorded version after the stale-view window: edited outside sharedwrite; adopting it",
			"key", quote.Value(w.key), "window", w.c.staleWindow, "size", ct.Size)
		w.last = target
		return true, false, w.deliver(ctx, locking.Version{SHA256: ct.SHA256, Size: ct.Size, Length: ct.Size}, ct, true)
	}
	return false, true, nil
}

// pendingShown reports whether a file that shows pending version p (and not
// the committed one) proves p's rename: at once on a volume without stale
// views, else only once p has been pending for longer than the stale-view
// window. Until then the file read may be another host's stale view that
// merely looks like p (the committed version cut at an older size, or an
// older version with p's content), and p's rename may yet fail: delivered,
// p would hide the committed version for good, as nothing older than the
// last delivery is delivered. A p that is committed meanwhile is delivered
// as committed, at once.
func (w *watcher) pendingShown(p locking.Version) bool {
	now := time.Now()
	if p != w.pendingSeen {
		w.pendingSeen, w.pendingSince = p, now
	}
	return now.Sub(w.pendingSince) > w.c.staleWindow || w.c.staleWindow == 0
}

// fits reports whether v, when wanted, is within the read limit: a file
// read larger than the limit may then still catch up with it.
func (w *watcher) fits(v locking.Version, wanted bool) bool {
	limit := w.c.cfg.maxReadSize
	return wanted && (limit <= 0 || v.Size <= limit)
}

// deliver hands version v with what was read to fn.
func (w *watcher) deliver(ctx context.Context, v locking.Version, ct writer.Content, initial bool) error {
	ch := Change{Event: locking.Event{Path: w.key, Version: v}}
	if isLogVersion(v) {
		// A log's version records only its committed length: deliver that
		// prefix, and the hash of what is delivered.
		ct = committedPrefix(&v, ct)
		ch.SHA256 = ct.SHA256
	}
	if !v.Deleted {
		ch.Data = ct.Data
		if ch.Data == nil {
			ch.Data = []byte{}
		}
	}
	ch.Initial = initial || (w.cfg.initial && !w.delivered && v.Token != 0 && !newerVersion(v, w.initial))
	w.delivered = true
	if newerVersion(v, w.last) {
		w.last = v
	}
	if w.waitingFor != 0 {
		w.c.log.DebugContext(ctx, "watch: the file caught up with the committed version",
			"key", quote.Value(w.key), "token", v.Token, "stale_reads", w.stale, "waited", time.Since(w.waitingSince).Round(time.Millisecond))
	}
	w.waitingFor = 0
	return w.fn(ctx, ch)
}

// stillStale notes that the file does not show version tok yet, and logs it
// once when that lasts past the stale-view window: the file was edited outside
// sharedwrite, or the mount's caches are longer than the window.
func (w *watcher) stillStale(ctx context.Context, tok uint64) {
	now := time.Now()
	if w.waitingFor != tok {
		w.waitingFor, w.waitingSince, w.stale = tok, now, 1
		return
	}
	w.stale++
	window := max(w.c.staleWindow, 2*w.cfg.interval, 5*time.Second)
	if w.warned != tok && now.Sub(w.waitingSince) > window {
		w.warned = tok
		w.c.log.WarnContext(ctx, "watch: the file still does not show the committed version; waiting for it",
			"key", quote.Value(w.key), "token", tok, "waited", now.Sub(w.waitingSince).Round(time.Millisecond))
	}
}

// logOnce logs err unless it is the same as the last one logged.
func (w *watcher) logOnce(ctx context.Context, msg string, err error) {
	if s := err.Error(); s != w.lastErr {
		w.lastErr = s
		w.c.log.WarnContext(ctx, msg, "key", quote.Value(w.key), "err", err)
	}
}

// String describes the watcher for errors and logs.
func (w *watcher) String() string { return fmt.Sprintf("watch %s", quote.Name(w.key)) }
