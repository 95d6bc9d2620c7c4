//go:build linux

package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestFullVolumeLeavesTheTreeAsItWas runs each mutating operation on a full
// filesystem: it fails with ENOSPC naming its path, leaves every name outside
// .sharedwrite/locks as it was (no temp, no new directory, no empty file; lock
// files are never removed), keeps no descriptor of a removed file (whose
// blocks would keep the volume full), and succeeds once space is freed,
// without repair. Among them the first batch of a new log: before, it left
// the empty log and the directories made for it.
func TestFullVolumeLeavesTheTreeAsItWas(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 40<<10)
	spool := t.TempDir()
	ops := []struct {
		name  string
		setup func(ctx context.Context, c *Coordinator, root string) error
		run   func(ctx context.Context, c *Coordinator) error
	}{
		{name: "write over a file", setup: func(ctx context.Context, c *Coordinator, root string) error {
			return c.WriteFile(ctx, "cfg", []byte("old\n"), 0o644)
		}, run: func(ctx context.Context, c *Coordinator) error {
			return c.WriteFile(ctx, "cfg", big, 0o644)
		}},
		{name: "write into new directories", run: func(ctx context.Context, c *Coordinator) error {
			return c.WriteFile(ctx, "a/b/new", big, 0o644)
		}},
		{name: "write an empty new file", run: func(ctx context.Context, c *Coordinator) error {
			return c.WriteFile(ctx, "a/b/empty", nil, 0o644)
		}},
		{name: "stream", run: func(ctx context.Context, c *Coordinator) error {
			f, err := c.Create(ctx, "s/x", 0o644)
			if err != nil {
				return err
			}
			if _, err := f.Write(big); err != nil {
				return errors.Join(err, f.Abort())
			}
			return f.Commit(ctx)
		}},
		{name: "update to empty", run: func(ctx context.Context, c *Coordinator) error {
			return c.Update(ctx, "u/x", func([]byte, bool) ([]byte, error) { return nil, nil })
		}},
		{name: "init", run: func(ctx context.Context, c *Coordinator) error {
			_, err := c.InitOnce(ctx, "i/x", func(context.Context) ([]byte, error) { return big, nil })
			return err
		}},
		{name: "move across devices", setup: func(ctx context.Context, c *Coordinator, root string) error {
			return os.WriteFile(filepath.Join(spool, "m.bin"), big, 0o644)
		}, run: func(ctx context.Context, c *Coordinator) error {
			return c.Move(ctx, filepath.Join(spool, "m.bin"), "mv/m.bin")
		}},
		{name: "remove a file made outside", setup: func(ctx context.Context, c *Coordinator, root string) error {
			return os.WriteFile(filepath.Join(root, "outside"), []byte("o"), 0o644)
		}, run: func(ctx context.Context, c *Coordinator) error {
			return c.Remove(ctx, "outside")
		}},
		{name: "first batch of a new log", run: func(ctx context.Context, c *Coordinator) error {
			a := c.Appender("logs/day/app.log")
			return errors.Join(a.Append(ctx, []byte("line\n")), a.Close())
		}},
		{name: "transaction", run: func(ctx context.Context, c *Coordinator) error {
			return c.Tx(ctx, []TxFile{{Name: "t/a", Data: []byte("a")}, {Name: "t/b"}})
		}},
		{name: "copytruncate", setup: func(ctx context.Context, c *Coordinator, root string) error {
			a := c.Appender("ct.log")
			return errors.Join(a.Append(ctx, big), a.Close())
		}, run: func(ctx context.Context, c *Coordinator) error {
			_, err := c.Rotate(ctx, "ct.log", CopyTruncate())
			return err
		}},
	}
	for _, m := range modes {
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s/%s", m, op.name), func(t *testing.T) {
				root := testrig.Tmpfs(t, "256k")
				c := open(t, m, root)
				ctx := ctxT(t, 20*time.Second)
				if op.setup != nil {
					if err := op.setup(ctx, c, root); err != nil {
						t.Fatal(err)
					}
				}
				before := treeOutsideLocks(t, root)
				filler := testrig.Fill(t, root, 0)
				err := op.run(ctx, c)
				if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
					t.Fatalf("on a full volume: %v; want ENOSPC", err)
				}
				if after := treeOutsideLocks(t, root); !slices.Equal(after, before) {
					t.Errorf("after the failure (%v) the tree is\n%q;\nwant it as it was:\n%q", err, after, before)
				}
				if held := removedButOpen(t, root); len(held) > 0 {
					t.Errorf("descriptors of removed files on the volume: %q", held)
				}
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
				if err := op.run(ctx, c); err != nil {
					t.Errorf("once space is freed: %v; want success", err)
				}
			})
		}
	}
}

// treeOutsideLocks lists root's names (but the filler and the lock files)
// with their modes and, for files, sizes.
func treeOutsideLocks(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "filler" || strings.HasPrefix(rel, ".sharedwrite/locks/") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := rel + " " + fi.Mode().String()
		if !d.IsDir() {
			e += fmt.Sprintf(" %d", fi.Size())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// removedButOpen lists this process's descriptors of removed files under root.
func removedButOpen(t *testing.T, root string) []string {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(l, root+"/") && strings.HasSuffix(l, " (deleted)") {
			out = append(out, l)
		}
	}
	return out
}
