package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// One lease loss in one operation (a Write refused because the lease is lost,
// then the Commit that follows) is counted once.
func TestTelemetryLeaseLostCountedOnce(t *testing.T) {
	tr, c, f, ctx := tracedCreate(t, t.TempDir(), "f")
	if err := loseLease(ctx, c, f); err != nil {
		t.Fatal(err)
	}
	<-f.octx.Done() // the loss reaches the operation's context
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Write after the loss = %v; want ErrLeaseLost", err)
	}
	if err := f.Commit(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Commit after the loss = %v; want ErrLeaseLost", err)
	}
	if got := tr.counter(t, MetricLeaseLost); got != 1 {
		t.Fatalf("%s = %d after one lease loss in one operation; want 1", MetricLeaseLost, got)
	}
}

// A streamed write whose lease is lost while it copies (the CLI's write:
// io.Copy into the File, then Abort on the copy's error) records that error on
// its operation span.
func TestTelemetryStreamLeaseLostErrorRecorded(t *testing.T) {
	tr, c, f, ctx := tracedCreate(t, t.TempDir(), "f")
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("first chunk"))
		loseLease(ctx, c, f) //nolint:errcheck // the copy's error says whether it was lost
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte("second chunk"))
		pw.Close()
	}()
	_, cerr := io.Copy(f, pr)
	if !errors.Is(cerr, ErrLeaseLost) {
		t.Fatalf("copy = %v; want ErrLeaseLost", cerr)
	}
	f.Abort()
	ops := tr.named("sharedwrite.create")
	if len(ops) != 1 {
		t.Fatalf("%d create spans", len(ops))
	}
	out, _ := attr(ops[0], string(AttrOutcome))
	if ops[0].Status().Code != codes.Error || len(ops[0].Events()) == 0 {
		t.Fatalf("operation failed with %v (outcome %q), but its span has status %v and %d events; want the error recorded",
			cerr, out, ops[0].Status(), len(ops[0].Events()))
	}
}

// Log records inside an operation carry trace_id, the locking package's
// lease-lost and floor-raise warnings too.
func TestTelemetryLockingLogsCarryTraceID(t *testing.T) {
	root := t.TempDir()
	tr := newTelRig(t)
	var buf syncBuf
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	c := open(t, rds, root, append(tr.opts(), WithLogger(logger), WithLeaseTTL(600*time.Millisecond))...)
	ctx := ctxT(t, 30*time.Second)
	for i := 0; i < 3; i++ {
		if err := c.WriteFile(ctx, "f", []byte("v"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cl := redis.NewClient(&redis.Options{Addr: needRedis(t).Addr(), DisableIdentity: true})
	defer cl.Close()
	// Redis lost its counter (restart without persistence): the floor is raised.
	if err := cl.Set(ctx, locking.RedisKeys(c.VolumeID(), "f").Fence, 0, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, "f", []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tr.counter(t, MetricFloorRaised); got != 1 {
		t.Fatalf("%s = %d; want 1 (the raise path was taken)", MetricFloorRaised, got)
	}
	// A lease lost inside an operation (a streamed write, its key taken over).
	f, err := c.Create(ctx, "g", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Del(ctx, locking.RedisKeys(c.VolumeID(), "g").Lock).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.h.lease.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("lease loss not noticed")
	}
	f.Abort()
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		if _, ok := r["trace_id"]; !ok {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("log records inside an operation without trace_id:\n%s", strings.Join(bad, "\n"))
	}
}

type syncBuf struct {
	testrig.SyncBuffer
}

// leaseTestTTL is the lease TTL of the lease-loss tests: short, so that a
// loss is noticed soon.
const leaseTestTTL = 600 * time.Millisecond

// tracedCreate opens a Redis-mode coordinator on root with a telemetry rig
// and leaseTestTTL, and creates a streaming File for name.
func tracedCreate(t *testing.T, root, name string) (*telRig, *Coordinator, *File, context.Context) {
	t.Helper()
	tr := newTelRig(t)
	c := open(t, rds, root, append(tr.opts(), WithLeaseTTL(leaseTestTTL))...)
	ctx := ctxT(t, 30*time.Second)
	f, err := c.Create(ctx, name, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return tr, c, f, ctx
}

// loseLease deletes f's lease in Redis, as a takeover would, and waits (at
// most 5 TTLs) until its holder has noticed the loss. f was made by
// tracedCreate, so the shared Redis runs.
func loseLease(ctx context.Context, c *Coordinator, f *File) error {
	return loseLeaseOf(ctx, c, LeaseInfo{Lease: f.h.lease}, f.h.key)
}
