//go:build linux

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// redisPauseAfterCommitStep stops a redis-server (SIGSTOP) when the commit
// step (floor and pending written and checked) of key ends, the first time,
// and then holds that step for hold; the server is continued (SIGCONT) by
// the test.
type redisPauseAfterCommitStep struct {
	r    *testrig.Redis
	key  string
	hold time.Duration
	once sync.Once
}

func (p *redisPauseAfterCommitStep) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *redisPauseAfterCommitStep) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() != "commit" {
		return
	}
	for _, a := range s.Attributes() {
		if a.Key == AttrKey && a.Value == attribute.StringValue(p.key) {
			p.once.Do(func() {
				p.r.Signal(syscall.SIGSTOP)
				time.Sleep(p.hold)
			})
		}
	}
}
func (p *redisPauseAfterCommitStep) Shutdown(context.Context) error   { return nil }
func (p *redisPauseAfterCommitStep) ForceFlush(context.Context) error { return nil }

// A Move inside the root commits by its rename: both leases must have the
// commit margin left then, not only each when its own floor and pending were
// written. Here the destination's floor and pending are written first, then
// Redis stops answering (no refresh succeeds) while the source's are
// written: the destination's lease (granted after another holder kept it a
// while, its validity counted from its first attempt) falls below the
// margin; the source's, refreshed just before, does not. The move must be
// refused, nothing moved.
func TestMoveNeedsCommitMarginOfBothLeases(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	r, root, cl := ownRedisVolume(t, ctx)
	const ttl, margin = 9 * time.Second, 4500 * time.Millisecond
	// src ("a") is taken at ~0 and refreshed at TTL/3 (~3 s): valid until
	// ~12 s. dst ("b") is waited for from ~0 and granted at ~3.5 s: valid
	// until ~9 s, its first refresh due at ~6.5 s. Redis stops at ~3.5 s,
	// once dst's floor and pending are written; the source's are written at
	// ~6 s: dst has ~3 s left (under the margin), src ~6 s (above it).
	const held, hold = 3500 * time.Millisecond, 2500 * time.Millisecond
	pause := &redisPauseAfterCommitStep{r: r, key: "b", hold: hold}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(pause))
	c, err := Open(ctx, root, WithRedis(cl), WithLeaseTTL(ttl), WithCommitMargin(margin), WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	other, err := Open(ctx, root, WithRedis(cl), WithLeaseTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var cont sync.Once
	resume := func() { cont.Do(func() { r.Signal(syscall.SIGCONT) }) }
	t.Cleanup(resume)

	if err := other.WriteFile(ctx, "a", []byte("src"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := other.WriteFile(ctx, "b", []byte("dst"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := holdKey(t, other, "b")
	time.AfterFunc(held, func() { release() })
	// Redis continues after the rename would have been made (~6 s), before
	// the destination's validity runs out (~9 s): no lease is lost, the
	// destination's is only short of the margin at the rename.
	time.AfterFunc(held+hold+time.Second, resume)

	err = c.Move(ctx, filepath.Join(root, "a"), "b")
	resume()
	if !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Move whose destination lease fell below the commit margin before its rename = %v; want ErrLeaseLost", err)
	}
	for name, want := range map[string]string{"a": "src", "b": "dst"} {
		if got, rerr := os.ReadFile(filepath.Join(root, name)); rerr != nil || string(got) != want {
			t.Errorf("%s after the refused move = %q, %v; want %q", name, got, rerr, want)
		}
	}
}
