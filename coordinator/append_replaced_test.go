package coordinator

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// An appender whose file is replaced or removed by a whole-file operation
// (WriteFile, Remove) between two batches must append to the file now at the
// name, never to the replaced inode it still has open: its records would be
// acknowledged and lost.
func TestAppenderAfterFileReplacedOrRemoved(t *testing.T) {
	cases := []struct {
		name    string
		between func(ctx context.Context, c *Coordinator) error
		want    string
	}{
		{"replaced", func(ctx context.Context, c *Coordinator) error {
			return c.WriteFile(ctx, "app.log", []byte("fresh\n"), 0o644)
		}, "fresh\nb\n"},
		{"removed", func(ctx context.Context, c *Coordinator) error { return c.Remove(ctx, "app.log") }, "b\n"},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(string(m)+"/"+tc.name, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				ctx := ctxT(t, 30*time.Second)
				a := c.Appender("app.log")
				defer a.Close()
				if err := a.Append(ctx, []byte("a\n")); err != nil {
					t.Fatal(err)
				}
				if err := tc.between(ctx, c); err != nil {
					t.Fatal(err)
				}
				if err := a.Append(ctx, []byte("b\n")); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, filepath.Join(root, "app.log")); got != tc.want {
					t.Errorf("app.log = %q; want %q", got, tc.want)
				}
			})
		}
	}
}
