package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// After a transaction was killed between two renames (past its commit
// point), whatever operation next takes one of its keys finds every file of
// it at the new version (TestTxCrash covers Update only).
func TestTxNextOperationAfterCrash(t *testing.T) {
	names := []string{"t/a", "t/b", "t/c"}
	type check func(t *testing.T, c *Coordinator, root string)
	all := func(want ...string) check {
		return func(t *testing.T, c *Coordinator, root string) {
			t.Helper()
			var got []string
			for _, n := range names {
				b, err := os.ReadFile(filepath.Join(root, n))
				if errors.Is(err, fs.ErrNotExist) {
					got = append(got, "<absent>")
					continue
				}
				got = append(got, string(b))
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("files = %q; want %q", got, want)
			}
		}
	}
	for _, m := range modes {
		for _, tc := range []struct {
			name string
			op   func(t *testing.T, c *Coordinator, root string) error
			want check
		}{
			{"Remove", func(t *testing.T, c *Coordinator, root string) error {
				return c.Remove(ctxT(t, 10*time.Second), "t/c")
			}, all("t/a=new", "t/b=new", "<absent>")},
			{"WriteFile", func(t *testing.T, c *Coordinator, root string) error {
				return c.WriteFile(ctxT(t, 10*time.Second), "t/b", []byte("mine"), 0o644)
			}, all("t/a=new", "mine", "t/c=new")},
			{"Move onto a key", func(t *testing.T, c *Coordinator, root string) error {
				src := filepath.Join(t.TempDir(), "spool")
				mustWrite(t, src, "moved")
				return c.Move(ctxT(t, 10*time.Second), src, "t/c")
			}, all("t/a=new", "t/b=new", "moved")},
			{"Move a key away", func(t *testing.T, c *Coordinator, root string) error {
				return c.Move(ctxT(t, 10*time.Second), filepath.Join(root, "t/b"), "elsewhere")
			}, all("t/a=new", "<absent>", "t/c=new")},
			{"overlapping Tx", func(t *testing.T, c *Coordinator, root string) error {
				return c.Tx(ctxT(t, 10*time.Second), namedTxFiles("2nd", "t/c", "t/d"))
			}, all("t/a=new", "t/b=new", "t/c=2nd")},
			{"Lock", func(t *testing.T, c *Coordinator, root string) error {
				return c.Lock(ctxT(t, 10*time.Second), "t/b", func(ctx2 context.Context, _ LeaseInfo) error { return nil })
			}, all("t/a=new", "t/b=new", "t/c=new")},
		} {
			t.Run(string(m)+"/"+tc.name, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				crashOverOld(t, ctxT(t, 10*time.Second), c, m, root, names)
				if got := readFile(t, filepath.Join(root, "t/c")); got != "t/c=old" {
					t.Fatalf("t/c after the crash = %q; want t/c=old (not yet renamed)", got)
				}
				if err := tc.op(t, c, root); err != nil {
					t.Fatalf("op: %v", err)
				}
				tc.want(t, c, root)
			})
		}
	}
}
