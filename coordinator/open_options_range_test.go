package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// Open refuses an option value out of its range with an error wrapping
// fs.ErrInvalid that names the value, before it creates anything on the
// volume. (A negative stale-view window was taken: on a local filesystem the
// appends then treated it as 0 and the rotations as a network filesystem's,
// and a rotation of a log cut short outside sharedwrite padded the rotated
// file with NUL bytes up to the length recorded. Negative limits and commit
// margins were taken as "unbounded" and "the default".)
func TestOpenRefusesOutOfRangeOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		want string // in the message
	}{
		{"negative stale window", WithStaleWindow(-time.Second), "-1s"},
		{"negative in flight", WithLimits(-1, 4), "-1"},
		{"negative queued", WithLimits(2, -1), "-1"},
		{"negative commit margin", WithCommitMargin(-time.Millisecond), "-1ms"},
		{"commit margin of the TTL", WithCommitMargin(DefaultLeaseTTL), "10s"},
		{"zero lease TTL", WithLeaseTTL(0), "0s"},
		{"negative lease TTL", WithLeaseTTL(-time.Second), "-1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			c, err := Open(context.Background(), root, tc.opt)
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("Open: %v; want an error wrapping fs.ErrInvalid", err)
			}
			if c != nil {
				t.Errorf("Open returned a Coordinator with its error %v", err)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Op != "open" || ce.Path != root {
				t.Errorf("Open: %v; want a *Error with Op open and Path %q", err, root)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) {
				t.Errorf("Open: %q; want it to name %q", msg, tc.want)
			}
			if es, err := os.ReadDir(root); err != nil || len(es) != 0 {
				t.Errorf("root after the refused Open: %v (%v); want it empty", es, err)
			}
		})
	}
	// The values at the edges of the ranges are taken.
	for _, opt := range []Option{WithStaleWindow(0), WithLimits(0, 0), WithCommitMargin(0), WithMaxReadSize(-1)} {
		c, err := Open(context.Background(), t.TempDir(), opt)
		if err != nil {
			t.Errorf("Open: %v; want it to take the value", err)
			continue
		}
		c.Close()
	}
}
