package locking

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A raise past the floor is a warning when Redis handed out a token a
// version already carries (a restart, a failover that lost the last
// writes); when the token equals a floor no version carries — what a Lock
// whose lease ended leaves, one past its own token — it is logged at info.
func TestFloorRaiseLogLevel(t *testing.T) {
	for _, c := range []struct {
		name    string
		version bool // the floor's token is a version's
		want    string
	}{
		{"a version carries the token", true, "level=WARN"},
		{"a lock's floor", false, "level=INFO"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			l := NewRedisLocker(testClient(t, needRedis(t).Addr()), uniqueVolume(t), Logger(log))
			ctx := context.Background()
			le, err := l.Acquire(ctx, "k", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer le.Release(ctx, nil, "k")
			tok := le.Token()
			rec := Record{Floor: Floor{Token: tok, LeaseID: "h/1/other"}}
			if c.version {
				rec.Committed = Version{Token: tok, LeaseID: "h/1/other"}
			} else {
				rec.Committed = Version{Token: tok - 1, LeaseID: "h/1/other"}
			}
			raised, err := le.CheckFloor(ctx, rec)
			if err != nil || !raised || le.Token() <= tok {
				t.Fatalf("CheckFloor = %v, %v (token %d → %d); want a raise", raised, err, tok, le.Token())
			}
			var line string
			for _, ln := range strings.Split(logs.String(), "\n") {
				if strings.Contains(ln, "fencing token raised past the volume's floor") {
					line = ln
				}
			}
			if !strings.Contains(line, c.want) {
				t.Fatalf("raise logged as %q; want %s", line, c.want)
			}
		})
	}
}
