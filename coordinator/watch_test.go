package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// watching runs Watch on c in the background and collects what it delivers.
type watching struct {
	mu      sync.Mutex
	changes []Change
	more    chan struct{}
	done    chan error
	cancel  context.CancelFunc
}

// watchStarted makes Watch call f once it has set its starting point (a test
// hook; see watchConfig.started).
func watchStarted(f func()) WatchOption { return func(w *watchConfig) { w.started = f } }

// startWatch returns once Watch has set its starting point: without
// WatchInitial only versions newer than the one current then are delivered, so
// a write the test makes before that would never be.
func startWatch(t *testing.T, c *Coordinator, name string, opts ...WatchOption) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{more: make(chan struct{}, 1), done: make(chan error, 1), cancel: cancel}
	started := make(chan struct{})
	opts = append(append([]WatchOption(nil), opts...), watchStarted(func() { close(started) }))
	go func() {
		w.done <- c.Watch(ctx, name, func(_ context.Context, ch Change) error {
			w.mu.Lock()
			w.changes = append(w.changes, ch)
			w.mu.Unlock()
			select {
			case w.more <- struct{}{}:
			default:
			}
			return nil
		}, opts...)
	}()
	t.Cleanup(func() { w.stop(t) })
	select {
	case <-started:
	case err := <-w.done:
		w.done <- err // for stop
		t.Fatalf("Watch returned %v before it started", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Watch did not start within 10s")
	}
	return w
}

func (w *watching) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	select {
	case err, ok := <-w.done:
		if ok && !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v; want context.Canceled", err)
		}
		close(w.done)
	case <-time.After(10 * time.Second):
		t.Errorf("Watch did not return within 10s of its context's end")
	}
}

func (w *watching) got() []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Change(nil), w.changes...)
}

// waitFor waits until a delivered change satisfies ok, or fails after d.
func (w *watching) waitFor(t *testing.T, d time.Duration, what string, ok func(Change) bool) Change {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, ch := range w.got() {
			if ok(ch) {
				return ch
			}
		}
		select {
		case <-w.more:
		case <-deadline:
			t.Fatalf("no delivery of %s within %v; delivered %s", what, d, describe(w.got()))
		}
	}
}

func describe(chs []Change) string {
	var b strings.Builder
	for _, ch := range chs {
		fmt.Fprintf(&b, "[%d %q del=%v init=%v] ", ch.Token, ch.Data, ch.Deleted, ch.Initial)
	}
	return b.String()
}

// checkOrder checks that tokens strictly increase and that each content
// matches its event's sha256 and size.
func checkOrder(t *testing.T, chs []Change) {
	t.Helper()
	var last uint64
	for i, ch := range chs {
		if i > 0 && ch.Token <= last {
			t.Errorf("delivery %d: token %d after %d; want strictly increasing (%s)", i, ch.Token, last, describe(chs))
		}
		last = ch.Token
		if ch.Deleted {
			if ch.Data != nil {
				t.Errorf("delivery %d: deleted version with data %q; want nil", i, ch.Data)
			}
			continue
		}
		if got := sha256.Sum256(ch.Data); got != ch.SHA256 || int64(len(ch.Data)) != ch.Size {
			t.Errorf("delivery %d (token %d): content sha256 %x size %d; event says %x size %d", i, ch.Token, got, len(ch.Data), ch.SHA256, ch.Size)
		}
	}
}

func TestWatchDeliversEachVersionInOrder(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "cfg", []byte("v0"), 0o644); err != nil {
				t.Fatal(err)
			}
			w := startWatch(t, c, "cfg", WatchInitial(), WatchInterval(200*time.Millisecond))
			first := w.waitFor(t, 10*time.Second, "the initial version", func(ch Change) bool { return true })
			if !first.Initial || string(first.Data) != "v0" || first.Path != "cfg" {
				t.Fatalf("first delivery = token %d %q initial=%v path %q; want the initial \"v0\" of \"cfg\"", first.Token, first.Data, first.Initial, first.Path)
			}
			const n = 30
			for i := 1; i <= n; i++ {
				if err := c.WriteFile(ctx, "cfg", []byte(fmt.Sprintf("v%d", i)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			last := w.waitFor(t, 20*time.Second, "the last version", func(ch Change) bool { return string(ch.Data) == fmt.Sprintf("v%d", n) })
			if err := c.Remove(ctx, "cfg"); err != nil {
				t.Fatal(err)
			}
			del := w.waitFor(t, 20*time.Second, "the removal", func(ch Change) bool { return ch.Deleted })
			if del.Token <= last.Token {
				t.Errorf("removal token %d; want above the last write's %d", del.Token, last.Token)
			}
			chs := w.got()
			checkOrder(t, chs)
			for _, ch := range chs[1:] {
				if ch.Initial {
					t.Errorf("token %d delivered as initial; only the first may be", ch.Token)
				}
			}
			if chs[len(chs)-1].Token != del.Token {
				t.Errorf("last delivery token %d; want the removal's %d", chs[len(chs)-1].Token, del.Token)
			}
		})
	}
}

func TestWatchWithoutInitialStartsAfterTheCurrentVersion(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "cfg", []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			w := startWatch(t, c, "cfg", WatchInterval(100*time.Millisecond))
			if err := c.WriteFile(ctx, "cfg", []byte("new"), 0o644); err != nil {
				t.Fatal(err)
			}
			w.waitFor(t, 10*time.Second, `"new"`, func(ch Change) bool { return string(ch.Data) == "new" })
			for _, ch := range w.got() {
				if string(ch.Data) == "old" {
					t.Errorf("the version current at start (%q) was delivered without WatchInitial", ch.Data)
				}
			}
		})
	}
}

// TestWatchNeverDeliversContentThatDoesNotMatch puts the file back to an older
// content after the record names a newer version, as a stale cache on another
// host shows it: nothing may be delivered until the file shows the version.
func TestWatchNeverDeliversContentThatDoesNotMatch(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
				t.Fatal(err)
			}
			rec, err := c.peekRecord("cfg")
			if err != nil {
				t.Fatal(err)
			}
			v1 := rec.Committed.Token
			if err := c.WriteFile(ctx, "cfg", []byte("v2"), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(root, "cfg")
			mustWrite(t, path, "v1") // the old content, outside sharedwrite
			w := startWatch(t, c, "cfg", WatchAfter(v1), WatchInterval(50*time.Millisecond))
			time.Sleep(time.Second)
			if got := w.got(); len(got) != 0 {
				t.Fatalf("delivered %s while the file showed the old content; want nothing", describe(got))
			}
			mustWrite(t, path, "v2")
			ch := w.waitFor(t, 10*time.Second, `"v2"`, func(Change) bool { return true })
			if string(ch.Data) != "v2" || ch.Token <= v1 {
				t.Fatalf("delivered token %d %q; want \"v2\" with a token above %d", ch.Token, ch.Data, v1)
			}
		})
	}
}

// TestWatchSkipsSupersededVersions holds the file at a content no version has
// while several versions are committed behind it; once the file shows the
// newest, only that one is delivered.
func TestWatchSkipsSupersededVersions(t *testing.T) {
	c := open(t, local, t.TempDir())
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "cfg", []byte("v0"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := c.peekRecord("cfg")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := c.WriteFile(ctx, "cfg", []byte(fmt.Sprintf("v%d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(c.Root(), "cfg")
	mustWrite(t, path, "v1") // an intermediate version: superseded by v3
	w := startWatch(t, c, "cfg", WatchAfter(rec.Committed.Token), WatchInterval(50*time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	mustWrite(t, path, "v3")
	w.waitFor(t, 10*time.Second, `"v3"`, func(ch Change) bool { return string(ch.Data) == "v3" })
	if got := w.got(); len(got) != 1 {
		t.Fatalf("delivered %s; want only the newest version v3", describe(got))
	}
}

// TestWatchCatchesUpAfterRedisRestart restarts Redis (no persistence) under a
// running watcher: it reports the outage once, polls meanwhile, resubscribes
// and delivers up to the last version without being restarted.
func TestWatchCatchesUpAfterRedisRestart(t *testing.T) {
	r := testrig.StartRedis(t)
	root := t.TempDir()
	ctx := ctxT(t, 2*time.Minute)
	newClient := func() *redis.Client {
		cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	if _, err := InitVolume(ctx, root, newClient()); err != nil {
		t.Fatal(err)
	}
	wlog := &testrig.SyncBuffer{}
	watcherC, err := Open(ctx, root, WithRedis(newClient()), WithLogger(slog.New(slog.NewTextHandler(wlog, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcherC.Close() })
	writerC, err := Open(ctx, root, WithRedis(newClient()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writerC.Close() })

	// A long poll interval: after the restart only the re-check on
	// resubscription (or a republished event) can deliver quickly, but the
	// test bounds only liveness.
	w := startWatch(t, watcherC, "cfg", WatchInterval(500*time.Millisecond))
	write := func(s string) {
		t.Helper()
		if err := writerC.WriteFile(ctx, "cfg", []byte(s), 0o644); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}
	for i := range 10 {
		write(fmt.Sprintf("before %d", i))
	}
	w.waitFor(t, 10*time.Second, "the last version before the restart", func(ch Change) bool { return string(ch.Data) == "before 9" })

	r.Kill()
	// While Redis is down a writer cannot take a lease; the volume can still
	// change through the watcher's own polling path only. Stay down long
	// enough for several reconnection attempts.
	time.Sleep(1500 * time.Millisecond)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		write(fmt.Sprintf("after %d", i))
	}
	w.waitFor(t, 30*time.Second, "the last version after the restart", func(ch Change) bool { return string(ch.Data) == "after 9" })
	checkOrder(t, w.got())

	// Polling may deliver before the subscription is back: wait for it.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(wlog.String(), "notifications back") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	logs := wlog.String()
	if n := strings.Count(logs, "notifications unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times; want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "notifications back"); n != 1 {
		t.Errorf("the end of the outage was logged %d times; want once:\n%s", n, logs)
	}
}

// TestWatchRepublishWhenRedisIsBehind empties Redis of the committed record (a
// restart without persistence); a holder that commits nothing then stores it
// again and publishes its change event.
func TestWatchRepublishWhenRedisIsBehind(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	c := open(t, rds, root)
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "cfg", []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := c.peekRecord("cfg")
	if err != nil {
		t.Fatal(err)
	}
	cl := r.Client(t)
	keys := locking.RedisKeys(c.VolumeID(), "cfg")
	if err := cl.Del(ctx, keys.Commit).Err(); err != nil {
		t.Fatal(err)
	}
	sub := cl.Subscribe(ctx, keys.ChangeChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	if err := c.Lock(ctx, "cfg", func(context.Context, LeaseInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	b, err := cl.Get(ctx, keys.Commit).Bytes()
	if err != nil {
		t.Fatalf("Redis's committed record after a lease on a volume ahead of it: %v; want it republished", err)
	}
	var v locking.Version
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Token != rec.Committed.Token || v.SHA256 != rec.Committed.SHA256 {
		t.Errorf("Redis's committed = token %d sha %x; want the volume's token %d sha %x", v.Token, v.SHA256, rec.Committed.Token, rec.Committed.SHA256)
	}
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(mctx)
	if err != nil {
		t.Fatalf("no change event republished: %v", err)
	}
	var ev locking.Event
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil || ev.Path != "cfg" || ev.Token != rec.Committed.Token {
		t.Errorf("republished event %s (%v); want path \"cfg\" token %d", msg.Payload, err, rec.Committed.Token)
	}
}

// TestWatchPollsWhenNoEventArrives commits through a writer whose change
// events go to another Redis server (every message lost, as when a writer
// crashes between its commit and its publish): the watcher finds each version
// by polling the volume's record.
func TestWatchPollsWhenNoEventArrives(t *testing.T) {
	root := t.TempDir()
	watcherC := open(t, rds, root)
	other := testrig.StartRedis(t)
	cl := redis.NewClient(&redis.Options{Addr: other.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	ctx := ctxT(t, time.Minute)
	writerC, err := Open(ctx, root, WithRedis(cl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writerC.Close() })
	w := startWatch(t, watcherC, "cfg", WatchInterval(100*time.Millisecond))
	for i := range 5 {
		want := fmt.Sprintf("v%d", i)
		if err := writerC.WriteFile(ctx, "cfg", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		w.waitFor(t, 10*time.Second, want, func(ch Change) bool { return string(ch.Data) == want })
	}
	checkOrder(t, w.got())
	if got := len(w.got()); got != 5 {
		t.Errorf("delivered %d versions; want 5 (%s)", got, describe(w.got()))
	}
}

func TestWatchOnAClosedCoordinator(t *testing.T) {
	c, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	err = c.Watch(context.Background(), "cfg", func(context.Context, Change) error { return nil })
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch on a closed coordinator returned %v; want ErrClosed", err)
	}
}

func TestWatchReturnsTheCallbacksError(t *testing.T) {
	c := open(t, local, t.TempDir())
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "cfg", []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	stopErr := errors.New("reload failed")
	err := c.Watch(ctx, "cfg", func(context.Context, Change) error { return stopErr }, WatchInitial())
	if !errors.Is(err, stopErr) {
		t.Fatalf("Watch returned %v; want the callback's error", err)
	}
}

// TestWatchDeliversAVisiblePendingVersion leaves the state of a holder that
// died between its rename and its committed record: pending names the new
// version and the file shows it. The watcher delivers it; a pending version
// whose content never became visible is not delivered.
func TestWatchDeliversAVisiblePendingVersion(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, c, "cfg", WatchInterval(50*time.Millisecond))
	time.Sleep(200 * time.Millisecond)

	fl, rec := lockRecord(t, c, ctx, "cfg")
	pend := func(data string) locking.Version {
		v := locking.Version{Token: rec.Floor.Token + 1, LeaseID: "gone/1/0123456789abcdef", SHA256: sha256.Sum256([]byte(data)),
			Size: int64(len(data)), Length: int64(len(data)), Host: "gone", PID: 1, Time: time.Now().UTC()}
		if err := fl.WriteFloorPending(locking.Floor{Token: v.Token, LeaseID: v.LeaseID}, v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// A pending version that never became visible: the file still shows v1.
	pend("never renamed")
	time.Sleep(500 * time.Millisecond)
	if got := w.got(); len(got) != 0 {
		t.Fatalf("delivered %s for a pending version the file does not show; want nothing", describe(got))
	}
	rec, err := fl.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	v := pend("v2")
	mustWrite(t, filepath.Join(root, "cfg"), "v2") // the rename happened; the holder died
	if err := fl.Unlock(); err != nil {
		t.Fatal(err)
	}
	ch := w.waitFor(t, 10*time.Second, "the visible pending version", func(Change) bool { return true })
	if ch.Token != v.Token || string(ch.Data) != "v2" {
		t.Errorf("delivered token %d %q; want the pending token %d \"v2\"", ch.Token, ch.Data, v.Token)
	}
}
