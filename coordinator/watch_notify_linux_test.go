//go:build linux

package coordinator

import (
	"testing"
	"time"
)

// In local mode on Linux a watcher of a key with no lock file yet still hears
// the first write through inotify (the locks directory is watched until the
// file appears): with the poll an hour apart, only inotify can deliver it.
func TestWatchNotifyWhenLockFileAppearsLater(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	// startWatch returns once the starting point is read, and Watch sets up
	// its inotify watches before that.
	w := startWatch(t, c, "later", WatchInterval(time.Hour))
	noLockFile(t, root, "later", "Watch started")
	for i, v := range []string{"one", "two"} {
		if err := c.WriteFile(ctx, "later", []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		ch := w.waitFor(t, 20*time.Second, "write "+v, func(ch Change) bool { return string(ch.Data) == v })
		if ch.Token != uint64(i+1) {
			t.Errorf("write %q delivered with token %d; want %d", v, ch.Token, i+1)
		}
	}
}
