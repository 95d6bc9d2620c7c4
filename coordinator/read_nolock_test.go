package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// noLockFile fails the test when key has a lock file.
func noLockFile(t *testing.T, root, key, after string) {
	t.Helper()
	_, err := os.Lstat(filepath.Join(root, locking.LockPath(key)))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock file of %q after %s: stat = %v; want none (reads create no lock file)", key, after, err)
	}
}

// Reading a name creates no lock file: a file never written through
// sharedwrite is read as it is, and a missing one is fs.ErrNotExist.
func TestReadFileCreatesNoLockFile(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			mustWrite(t, filepath.Join(root, "plain"), "content")
			got, err := c.ReadFile(ctx, "plain")
			if err != nil {
				t.Fatalf("ReadFile(plain): %v", err)
			}
			if string(got) != "content" {
				t.Errorf("ReadFile(plain) = %q; want content", got)
			}
			noLockFile(t, root, "plain", "ReadFile")

			if _, err := c.ReadFile(ctx, "missing"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile(missing): got %v; want fs.ErrNotExist", err)
			}
			noLockFile(t, root, "missing", "ReadFile of a missing name")
		})
	}
}

// Watch on a key that has never been written creates no lock file, and
// delivers the first write when it comes.
func TestWatchNeverWrittenKey(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			w := startWatch(t, c, "fresh", WatchInterval(20*time.Millisecond))
			// Several polls of the record of a key with no lock file. The
			// sleep only sets how many polls the check below covers:
			// startWatch has waited for the starting point, so the write is
			// delivered however few polls happen first.
			time.Sleep(300 * time.Millisecond)
			noLockFile(t, root, "fresh", "Watch polled it")
			if err := c.WriteFile(ctx, "fresh", []byte("first"), 0o644); err != nil {
				t.Fatal(err)
			}
			ch := w.waitFor(t, 20*time.Second, "the first write", func(ch Change) bool { return string(ch.Data) == "first" })
			if ch.Token == 0 || ch.Path != "fresh" {
				t.Errorf("delivery = token %d path %q; want a committed version of \"fresh\"", ch.Token, ch.Path)
			}
		})
	}
}
