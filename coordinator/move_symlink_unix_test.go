//go:build unix

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A source inside the root named through a symlinked path (a link to the
// root, or the root itself opened through a link) is inside: its key is
// leased and its record says deleted after the move.
func TestMoveSourceThroughSymlinkedPath(t *testing.T) {
	cases := []struct {
		name string
		key  string // the source's key
		// rootArg is the path the coordinator is opened with; src the
		// caller's path to the source "a".
		paths func(real, link string) (rootArg, src string)
	}{
		{"source through a link to the root", "a", func(real, link string) (string, string) {
			return real, filepath.Join(link, "a")
		}},
		{"root opened through a link", "a", func(real, link string) (string, string) {
			return link, filepath.Join(real, "a")
		}},
		{"source through a link to a directory inside the root", "sub/a", func(real, link string) (string, string) {
			inner := filepath.Join(filepath.Dir(link), "link-to-sub")
			if err := os.Symlink(filepath.Join(real, "sub"), inner); err != nil {
				t.Fatal(err)
			}
			return real, filepath.Join(inner, "a")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			real := t.TempDir()
			link := filepath.Join(t.TempDir(), "link-to-root")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			rootArg, src := tc.paths(real, link)
			c := open(t, local, rootArg)
			ctx := ctxT(t, 30*time.Second)
			key := tc.key
			if err := c.WriteFile(ctx, key, []byte("moved"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.Move(ctx, src, "b"); err != nil {
				t.Fatalf("Move(%s): %v", src, err)
			}
			if got := readFile(t, filepath.Join(real, "b")); got != "moved" {
				t.Errorf("b = %q; want moved", got)
			}
			rec, err := c.peekRecord(key)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Committed.Deleted || rec.Committed.Token == 0 {
				t.Errorf("source %q record after the move = %+v; want a committed deleted version", key, rec.Committed)
			}
		})
	}
}

// A holder of the source's key blocks a move whose source is named through a
// symlinked path: the key is leased.
func TestMoveSourceThroughSymlinkBlocksOnHolder(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link-to-root")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	c := open(t, local, real)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "a", []byte("held"), 0o644); err != nil {
		t.Fatal(err)
	}
	locked := make(chan struct{})
	unlock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Lock(ctx, "a", func(context.Context, LeaseInfo) error {
			close(locked)
			<-unlock
			return nil
		})
	}()
	<-locked
	mctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := c.Move(mctx, filepath.Join(link, "a"), "b")
	cancel()
	close(unlock)
	if lerr := <-done; lerr != nil {
		t.Fatalf("Lock: %v", lerr)
	}
	if err == nil {
		t.Fatal("Move while the source's key is held = nil; want it to wait for the lease and give up at its deadline")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("Move error: %v", err)
	}
	if _, serr := os.Lstat(filepath.Join(real, "a")); serr != nil {
		t.Errorf("source after the refused move: %v; want it kept", serr)
	}
	if _, serr := os.Lstat(filepath.Join(real, "b")); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("destination after the refused move: %v; want it absent", serr)
	}
}
