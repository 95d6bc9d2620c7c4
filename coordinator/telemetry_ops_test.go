package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// Every leased operation that commits: one span named sharedwrite.<op> with
// path, key, token, lease wait and outcome committed, the lease / flock /
// floor / commit / release children, one operation histogram value, and a
// lease-wait value per key taken.
func TestOpsSpans(t *testing.T) {
	type opCase struct {
		op       string
		keys     int
		bytes    string
		children []string
		run      func(ctx context.Context, c *Coordinator, root string) error
	}
	cases := []opCase{
		{"write", 1, "3", []string{"lease", "flock", "floor", "write", "fsync", "commit", "rename", "dirsync", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			return c.WriteFile(ctx, "x", []byte("abc"), 0o644)
		}},
		{"update", 1, "5", []string{"lease", "flock", "floor", "read", "write", "fsync", "commit", "rename", "dirsync", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			return c.Update(ctx, "x", func(old []byte, _ bool) ([]byte, error) { return append(old, 'u'), nil })
		}},
		{"init", 1, "3", []string{"lease", "flock", "floor", "read", "write", "fsync", "commit", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			_, err := c.InitOnce(ctx, "new", func(context.Context) ([]byte, error) { return []byte("gen"), nil })
			return err
		}},
		{"remove", 1, "", []string{"lease", "flock", "floor", "commit", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			return c.Remove(ctx, "x")
		}},
		{"move", 1, "", []string{"lease", "flock", "floor", "commit", "rename", "release"}, func(ctx context.Context, c *Coordinator, root string) error {
			src := filepath.Join(t.TempDir(), "src")
			if err := os.WriteFile(src, []byte("moved"), 0o644); err != nil {
				return err
			}
			return c.Move(ctx, src, "x")
		}},
		{"tx", 2, "3", []string{"lease", "flock", "floor", "write", "fsync", "rename", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			return c.Tx(ctx, []TxFile{{Name: "t1", Data: []byte("1")}, {Name: "t2", Data: []byte("22")}})
		}},
		{"lock", 1, "", []string{"lease", "flock", "floor", "release"}, func(ctx context.Context, c *Coordinator, _ string) error {
			return c.Lock(ctx, "x", func(context.Context, LeaseInfo) error { return nil })
		}},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(string(m)+"/"+tc.op, func(t *testing.T) {
				tr := newTelRig(t)
				root := t.TempDir()
				c := open(t, m, root, tr.opts()...)
				ctx := ctxT(t, 30*time.Second)
				if tc.op != "write" && tc.op != "init" && tc.op != "tx" && tc.op != "move" {
					if err := c.WriteFile(ctx, "x", []byte("seed"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				tr.spans.Reset()
				beforeOps := tr.histogramCount(t, MetricOpDuration)
				beforeWait := tr.histogramCount(t, MetricLeaseWait)
				if err := tc.run(ctx, c, root); err != nil {
					t.Fatal(err)
				}
				ops := tr.named("sharedwrite." + tc.op)
				if len(ops) != 1 {
					t.Fatalf("%d sharedwrite.%s spans; want 1\n%s", len(ops), tc.op, spanSummary(tr))
				}
				op := ops[0]
				if op.Status().Code == codes.Error {
					t.Errorf("span status %v on success", op.Status())
				}
				for _, k := range []string{string(AttrPath), string(AttrKey), string(AttrToken), string(AttrLeaseWait), string(AttrOutcome)} {
					if _, ok := attr(op, k); !ok {
						t.Errorf("span lacks attribute %s; has %v", k, op.Attributes())
					}
				}
				if tc.op != "lock" {
					if v, _ := attr(op, string(AttrOutcome)); v != OutcomeCommitted {
						t.Errorf("outcome %q; want %q", v, OutcomeCommitted)
					}
				}
				if tc.bytes != "" {
					if v, _ := attr(op, string(AttrBytes)); v != tc.bytes {
						t.Errorf("span %s = %q; want %s (the bytes the operation wrote)", AttrBytes, v, tc.bytes)
					}
				}
				ch := spanChildren(tr, op)
				t.Logf("children: %v", ch)
				for _, name := range tc.children {
					if ch[name] == 0 {
						t.Errorf("no %q child; children %v", name, ch)
					}
				}
				if n := tr.histogramCount(t, MetricOpDuration) - beforeOps; n != 1 {
					t.Errorf("%s grew by %d; want 1", MetricOpDuration, n)
				}
				if n := tr.histogramCount(t, MetricLeaseWait) - beforeWait; n != uint64(tc.keys) {
					t.Errorf("%s grew by %d; want %d", MetricLeaseWait, n, tc.keys)
				}
			})
		}
	}
}
