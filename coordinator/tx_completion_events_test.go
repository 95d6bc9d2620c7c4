package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// TestTxCompletionPublishesOtherKeysChanges: a transaction over two keys is
// killed after its commit point (its intent written, q/a renamed, q/b not),
// then an operation on one key completes it. The other key's version is
// stored in Redis and its change event published, as the transaction's own
// release would have done: a subscriber of its change channel gets the
// event, with the version the transaction recorded, and a watcher that
// polls only once an hour delivers it within the bound. Either the completer
// renames the other file itself, or the dead holder had renamed it before it
// was killed; and the dead holder's lease on the other key may outlive the
// one on the completer's key (its leases are refreshed apart), which the
// completion then waits out.
func TestTxCompletionPublishesOtherKeysChanges(t *testing.T) {
	// bound is far above what the completion takes (the dead holder's leases
	// live 1s) and far below the watcher's poll interval.
	const bound = 10 * time.Second
	names := []string{"q/a", "q/b"}
	for _, tc := range []struct {
		name      string
		completer string        // the key an operation is made on
		other     string        // the key whose change is awaited
		outlive   time.Duration // the dead holder's lease on other lasts this long from the crash
	}{
		{"completer renames the other file", "q/a", "q/b", 0},
		{"dead holder renamed the other file", "q/b", "q/a", 0},
		{"dead lease on the other key outlives the completer's", "q/a", "q/b", 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := needRedis(t)
			root := t.TempDir()
			c := open(t, rds, root)
			ctx := ctxT(t, time.Minute)
			if err := c.Tx(ctx, namedTxFiles("old", names...)); err != nil {
				t.Fatal(err)
			}
			cl := r.Client(t)
			keys := locking.RedisKeys(c.VolumeID(), tc.other)
			sub := cl.Subscribe(ctx, keys.ChangeChannel)
			t.Cleanup(func() { sub.Close() })
			if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
				t.Fatal(err)
			}
			w := startWatch(t, c, tc.other, WatchInterval(time.Hour))

			crashTx(t, root, 0, names, "SW_REDIS="+r.URL(), "SW_TTL=1s")
			if n := txIntents(t, root); n != 1 {
				t.Fatalf("%d intents after the crash; want the transaction's one", n)
			}
			rec, err := c.peekRecord(tc.other)
			if err != nil {
				t.Fatal(err)
			}
			want := rec.Pending
			if want.Intent == "" || want.Token <= rec.Committed.Token {
				t.Fatalf("record of %s after the crash: pending %+v, committed token %d; want the transaction's version pending", tc.other, want, rec.Committed.Token)
			}
			wantSHA := sha256.Sum256([]byte(tc.other + "=new"))
			if tc.outlive > 0 {
				if err := cl.Set(ctx, keys.Lock, want.LeaseID, tc.outlive).Err(); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now()
			if err := c.WriteFile(ctx, tc.completer, []byte("mine"), 0o644); err != nil {
				t.Fatalf("WriteFile(%s) = %v", tc.completer, err)
			}
			if got := readFile(t, filepath.Join(root, tc.other)); got != tc.other+"=new" {
				t.Fatalf("%s after the completion = %q; want %s=new", tc.other, got, tc.other)
			}

			mctx, cancel := context.WithTimeout(ctx, bound-time.Since(start))
			defer cancel()
			msg, err := sub.ReceiveMessage(mctx)
			if err != nil {
				t.Errorf("no change event for %s within %v of the completing operation's start: %v", tc.other, bound, err)
			} else {
				var ev locking.Event
				if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
					t.Errorf("change event %s: %v", msg.Payload, err)
				}
				if ev.Path != tc.other || ev.Token != want.Token || ev.LeaseID != want.LeaseID || ev.SHA256 != wantSHA ||
					ev.Size != want.Size || ev.Intent != want.Intent {
					t.Errorf("change event %s; want path %q token %d lease %q size %d intent %q sha256 %x",
						msg.Payload, tc.other, want.Token, want.LeaseID, want.Size, want.Intent, wantSHA)
				}
			}

			b, err := cl.Get(ctx, keys.Commit).Bytes()
			var stored locking.Version
			if err == nil {
				err = json.Unmarshal(b, &stored)
			}
			if err != nil || stored.Token != want.Token || stored.SHA256 != wantSHA {
				t.Errorf("Redis's committed record of %s = token %d sha256 %x (%v); want the transaction's token %d sha256 %x",
					tc.other, stored.Token, stored.SHA256, err, want.Token, wantSHA)
			}

			ch := w.waitFor(t, max(bound-time.Since(start), time.Second), tc.other+"'s completed version",
				func(ch Change) bool { return ch.Token >= want.Token })
			if ch.Token != want.Token || string(ch.Data) != tc.other+"=new" {
				t.Errorf("watcher of %s delivered token %d %q; want token %d %q", tc.other, ch.Token, ch.Data, want.Token, tc.other+"=new")
			}
		})
	}
}
