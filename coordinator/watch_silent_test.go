package coordinator

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// watchPing makes the subscription PING after d of silence (a test hook; see
// watchConfig.ping).
func watchPing(d time.Duration) WatchOption { return func(w *watchConfig) { w.ping = d } }

// TestWatchResubscribesWhenItsConnectionGoesSilent: the subscription's
// connection goes silent without being closed (its peer's host died, a
// network device dropped it), while Redis goes on serving the writer. The
// kernel would notice only after many minutes of retransmissions; Watch must
// notice by its PING going unanswered, resubscribe, and deliver the versions
// committed meanwhile without waiting for its poll.
func TestWatchResubscribesWhenItsConnectionGoesSilent(t *testing.T) {
	r := needRedis(t)
	ctx := ctxT(t, 2*time.Minute)
	root := t.TempDir()
	direct := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { direct.Close() })
	if _, err := InitVolume(ctx, root, direct); err != nil {
		t.Fatal(err)
	}
	writerC, err := Open(ctx, root, WithRedis(direct))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writerC.Close() })

	p := testrig.StartTCPProxy(t, r.Addr(), nil)
	proxied := redis.NewClient(&redis.Options{Addr: p.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { proxied.Close() })
	watcherC, err := Open(ctx, root, WithRedis(proxied))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcherC.Close() })

	// The poll is out of the picture: only change events deliver.
	w := startWatch(t, watcherC, "cfg", WatchInterval(time.Hour), watchPing(300*time.Millisecond))
	write := func(s string) {
		t.Helper()
		if err := writerC.WriteFile(ctx, "cfg", []byte(s), 0o644); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}
	// The subscription stands once an event gets through.
	for i := 0; ; i++ {
		write("before")
		ok := false
		for _, ch := range w.got() {
			ok = ok || string(ch.Data) == "before"
		}
		if ok {
			break
		}
		if i == 100 {
			t.Fatalf("no version delivered through the subscription; delivered %s", describe(w.got()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := p.SilenceAll(); n == 0 {
		t.Fatal("no connection through the proxy to silence")
	}
	write("after 1")
	w.waitFor(t, 20*time.Second, `"after 1", committed once the connection went silent`, func(ch Change) bool { return string(ch.Data) == "after 1" })
	write("after 2")
	w.waitFor(t, 20*time.Second, `"after 2"`, func(ch Change) bool { return string(ch.Data) == "after 2" })
	checkOrder(t, w.got())
}
