package coordinator

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// completedMsg is what a completion logs when every file of the transaction
// holds its version.
const completedMsg = "completed a transaction a dead holder left committed"

// captureLogs opens a coordinator on root in mode m whose logs, at every
// level, go to the returned buffer.
func captureLogs(t *testing.T, m mode, root string, opts ...Option) (*Coordinator, *testrig.SyncBuffer) {
	t.Helper()
	logs := &testrig.SyncBuffer{}
	opts = append(opts, WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	return open(t, m, root, opts...), logs
}

// warnLines returns the lines of logs at level WARN or ERROR that hold every
// one of parts.
func warnLines(logs string, parts ...string) []string {
	var found []string
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, "level=WARN") && !strings.Contains(l, "level=ERROR") {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			found = append(found, l)
		}
	}
	return found
}

// stagedEntry returns the intent that key's pending record names and its
// entry for key.
func stagedEntry(t *testing.T, c *Coordinator, key string) (txIntent, txEntry) {
	t.Helper()
	rec, err := c.peekRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	in, err := readIntent(c.root.OS(), rec.Pending.Intent)
	if err != nil {
		t.Fatalf("intent named by %s's pending record %+v: %v", key, rec.Pending, err)
	}
	for _, e := range in.Entries {
		if e.Target == key {
			return in, e
		}
	}
	t.Fatalf("intent %s lists no entry for %s: %+v", in.ID, key, in.Entries)
	return in, txEntry{}
}

// changeEvents receives the change events of a few keys.
type changeEvents struct {
	sub  *redis.PubSub
	seen map[string]locking.Event
}

// subscribeChanges subscribes to the change events of keys (none in local
// mode, which has none).
func subscribeChanges(t *testing.T, ctx context.Context, c *Coordinator, m mode, keys []string) *changeEvents {
	t.Helper()
	ev := &changeEvents{seen: map[string]locking.Event{}}
	if m != rds || len(keys) == 0 {
		return ev
	}
	chans := make([]string, len(keys))
	for i, k := range keys {
		chans[i] = locking.RedisKeys(c.VolumeID(), k).ChangeChannel
	}
	ev.sub = needRedis(t).Client(t).Subscribe(ctx, chans...)
	t.Cleanup(func() { ev.sub.Close() })
	for range chans { // the subscriptions' confirmations
		if _, err := ev.sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

// next returns key's change event, waiting for it within a bound far above
// what a completion takes.
func (ev *changeEvents) next(t *testing.T, key string) locking.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if e, ok := ev.seen[key]; ok {
			delete(ev.seen, key)
			return e
		}
		if ev.sub == nil {
			t.Fatalf("no change event of %s (not subscribed)", key)
		}
		msg, err := ev.sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no change event of %s: %v", key, err)
		}
		var e locking.Event
		if err := json.Unmarshal([]byte(msg.Payload), &e); err != nil {
			t.Fatalf("change event %s: %v", msg.Payload, err)
		}
		ev.seen[e.Path] = e
	}
}

// TestTxCompletionWithStagedFileGone: a transaction over q/a, q/b and q/c is
// killed past its commit point (q/a renamed, q/b and q/c staged), and q/b's
// staged temp is then deleted outside sharedwrite. Whoever completes the
// transaction next (the holder of q/b, of another of its keys, or Sweep)
// renames q/c and publishes the others' versions as before, but does not log
// the transaction as completed: it names q/b and the intent, and says that
// q/b's staged file is gone and that q/b keeps its earlier content. The
// intent is removed (nothing can complete q/b any more), and q/b stays
// usable at its earlier content.
func TestTxCompletionWithStagedFileGone(t *testing.T) {
	names := []string{"q/a", "q/b", "q/c"}
	for _, m := range modes {
		for _, tc := range []struct {
			via       string
			published []string // keys whose change events the completion publishes (Redis)
		}{
			{"its own key", []string{"q/a", "q/c"}},
			{"another key", []string{"q/a"}},
			{"sweep", nil},
		} {
			t.Run(string(m)+"/"+tc.via, func(t *testing.T) {
				root := t.TempDir()
				c, logs := captureLogs(t, m, root)
				ctx := ctxT(t, time.Minute)
				crashOverOld(t, ctx, c, m, root, names)
				in, e := stagedEntry(t, c, "q/b")
				if err := os.Remove(filepath.Join(root, e.Temp)); err != nil {
					t.Fatalf("removing q/b's staged temp: %v", err)
				}
				want := map[string]locking.Version{}
				events := subscribeChanges(t, ctx, c, m, tc.published)
				for _, k := range tc.published {
					if m != rds {
						break // no change events in local mode
					}
					rec, err := c.peekRecord(k)
					if err != nil {
						t.Fatal(err)
					}
					want[k] = rec.Pending
				}
				logs.Reset()

				update := func(name string) string {
					var got string
					if err := c.Update(ctx, name, func(old []byte, _ bool) ([]byte, error) {
						got = string(old)
						return old, nil
					}); err != nil {
						t.Fatalf("Update(%s) = %v", name, err)
					}
					return got
				}
				switch tc.via {
				case "its own key":
					if got := update("q/b"); got != "q/b=old" {
						t.Errorf("Update(q/b) read %q; want q/b=old (its staged file is gone)", got)
					}
				case "another key":
					if got := update("q/c"); got != "q/c=new" {
						t.Errorf("Update(q/c) read %q; want q/c=new", got)
					}
				case "sweep":
					if _, err := c.Sweep(ctx, time.Hour); err != nil {
						t.Errorf("Sweep = %v", err)
					}
				}
				for _, f := range namedTxFiles("new", "q/a", "q/c") {
					if got := readFile(t, filepath.Join(root, f.Name)); got != string(f.Data) {
						t.Errorf("%s = %q; want %q", f.Name, got, f.Data)
					}
				}
				if got := readFile(t, filepath.Join(root, "q/b")); got != "q/b=old" {
					t.Errorf("q/b = %q; want q/b=old", got)
				}
				out := logs.String()
				if strings.Contains(out, completedMsg) {
					t.Errorf("logs claim the transaction completed although q/b keeps its earlier content:\n%s", out)
				}
				if len(warnLines(out, "intent="+in.ID, "target=q/b", "staged file is gone", "earlier content")) == 0 {
					t.Errorf("no warning or error naming intent %s, target q/b and its staged file gone; logs:\n%s", in.ID, out)
				}
				if n := txIntents(t, root); n != 0 {
					t.Errorf("%d intents after the completion; want none (nothing can complete q/b)", n)
				}
				for k, v := range want {
					ev := events.next(t, k)
					if ev.Token != v.Token || ev.LeaseID != v.LeaseID || ev.Intent != in.ID {
						t.Errorf("change event of %s: token %d lease %q intent %q; want the transaction's token %d lease %q intent %q",
							k, ev.Token, ev.LeaseID, ev.Intent, v.Token, v.LeaseID, in.ID)
					}
				}

				// q/b is usable, at its earlier content, and its loss is not
				// reported again.
				logs.Reset()
				if got := update("q/b"); got != "q/b=old" {
					t.Errorf("a later Update(q/b) read %q; want q/b=old", got)
				}
				if err := c.WriteFile(ctx, "q/b", []byte("mine"), 0o644); err != nil {
					t.Errorf("WriteFile(q/b) = %v", err)
				}
				if l := warnLines(logs.String(), "staged file is gone"); len(l) > 0 {
					t.Errorf("later operations on q/b report its staged file gone again: %q", l)
				}
			})
		}
	}
}

// TestTxCompletionDoesNotReportTargetsWrittenSince: a transaction over q/a,
// q/b and q/c is killed past its commit point (q/a renamed), and a directory
// made where q/b goes keeps its intent after q/c is completed. q/c is then
// written and q/a removed, before the directory goes and the holder of q/b
// completes the transaction. The staged temps of q/a and q/c are gone, and
// their files no longer hold the transaction's versions, but they were
// renamed before being overwritten: the transaction is logged as completed,
// and no target as having lost its staged file.
func TestTxCompletionDoesNotReportTargetsWrittenSince(t *testing.T) {
	names := []string{"q/a", "q/b", "q/c"}
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c, logs := captureLogs(t, m, root)
			ctx := ctxT(t, time.Minute)
			crashOverOld(t, ctx, c, m, root, names)
			in, _ := stagedEntry(t, c, "q/b")
			// A directory in q/b's place (its staged temp is still there).
			if err := os.Remove(filepath.Join(root, "q/b")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(root, "q/b"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteFile(ctx, "q/c", []byte("mine"), 0o644); err != nil {
				t.Fatalf("WriteFile(q/c) = %v", err)
			}
			if err := c.Remove(ctx, "q/a"); err != nil {
				t.Fatalf("Remove(q/a) = %v", err)
			}
			if n := txIntents(t, root); n != 1 {
				t.Fatalf("%d intents with q/b a directory; want the transaction's one kept", n)
			}
			if err := os.Remove(filepath.Join(root, "q/b")); err != nil {
				t.Fatal(err)
			}
			logs.Reset()
			var got string
			if err := c.Update(ctx, "q/b", func(old []byte, _ bool) ([]byte, error) {
				got = string(old)
				return old, nil
			}); err != nil {
				t.Fatalf("Update(q/b) = %v", err)
			}
			if got != "q/b=new" {
				t.Errorf("Update(q/b) read %q; want q/b=new", got)
			}
			out := logs.String()
			if l := warnLines(out, "staged file is gone"); len(l) > 0 {
				t.Errorf("targets written since their renames reported as having lost their staged files: %q", l)
			}
			if !strings.Contains(out, completedMsg) || !strings.Contains(out, "intent="+in.ID) {
				t.Errorf("logs do not say that transaction %s completed:\n%s", in.ID, out)
			}
			if n := txIntents(t, root); n != 0 {
				t.Errorf("%d intents after the completion; want none", n)
			}
		})
	}
}
