package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A file over the read limit that is its committed version is refused at
// once, also when the record holds a pending version within the limit that
// never became visible (a holder that died after writing pending, before its
// rename): the file is no stale view of that version, and nothing will
// replace it, so reading it again through the stale-view window only delays
// the refusal, on every read, until the key is next written.
func TestReadLimitDeadPendingRefusedAtOnce(t *testing.T) {
	const limit, window = 1024, 5 * time.Second
	for _, op := range []string{"ReadFile", "Update"} {
		t.Run(op, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root, WithMaxReadSize(limit), WithStaleWindow(window))
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "f", bytes.Repeat([]byte("x"), 2*limit), 0o644); err != nil {
				t.Fatal(err)
			}
			fl, rec := lockRecord(t, c, ctx, "f")
			small := "small\n"
			p := locking.Version{Token: rec.Floor.Token + 1, LeaseID: "gone/1/0123456789abcdef", SHA256: sha256.Sum256([]byte(small)),
				Size: int64(len(small)), Length: int64(len(small)), Generation: rec.Committed.Generation + 1, Host: "gone", PID: 1, Time: time.Now().UTC()}
			if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
				t.Fatal(err)
			}
			if err := fl.Unlock(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var err error
			switch op {
			case "ReadFile":
				_, err = c.ReadFile(ctx, "f")
			case "Update":
				err = c.UpdateContext(ctx, "f", func(context.Context, []byte, bool) ([]byte, error) {
					t.Error("Update ran fn on a file over the read limit")
					return nil, nil
				})
			}
			took := time.Since(start)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s of a file over the limit = %v; want ErrTooLarge", op, err)
			}
			if took > window/2 {
				t.Errorf("%s refused the committed file over the limit after %v (stale-view window %v); want at once", op, took.Round(time.Millisecond), window)
			}
		})
	}
}
