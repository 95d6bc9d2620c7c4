package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// Remove removes name under its lease (the committed record then says
// deleted). A missing file is an error wrapping fs.ErrNotExist; while the
// committed record says the file exists (another host created it, and this
// host's negative lookup cache may still hide it) the removal is tried again
// through the stale-view window first. As every operation, it acts on the
// file name stands for: when name is a symlink inside the root, its target is
// removed and the link stays, dangling (an operation on it is then refused,
// as on any dangling link).
func (c *Coordinator) Remove(ctx context.Context, name string) error {
	return c.run(ctx, "remove", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		var v locking.Version
		remove := func() error { return c.root.Remove(ctx, h.key, c.wopts(ctx, o, h, &v, nil)...) }
		err := remove()
		if errors.Is(err, fs.ErrNotExist) && c.staleWindow > 0 && recordedPresent(h.rec) {
			err = c.removeThroughStaleView(ctx, remove, err)
		}
		return committed(&v, wrapW("remove", h.key, err))
	})
}

// recordedPresent reports whether every version a fresh read of rec's key
// may find says the file exists: then a "no such file" is a stale view (a
// negative lookup cache on NFS, say), or the file was removed outside
// sharedwrite.
func recordedPresent(rec locking.Record) bool {
	vs := expected(rec)
	for _, v := range vs {
		if v.Deleted || isBaseline(v) {
			return false
		}
	}
	return len(vs) > 0
}

// removeThroughStaleView calls remove again, with backoff, while it fails with
// fs.ErrNotExist, until the stale-view window or ctx ends; err is the first
// failure. A file still missing then was removed outside sharedwrite: the
// error wraps fs.ErrNotExist.
func (c *Coordinator) removeThroughStaleView(ctx context.Context, remove func() error, err error) error {
	until := time.Now().Add(c.staleWindow)
	for attempt := 0; errors.Is(err, fs.ErrNotExist); attempt++ {
		left := time.Until(until)
		if left <= 0 {
			return fmt.Errorf("%w (the committed record says the file exists; it did not show within the stale-view window of %v)", err, c.staleWindow)
		}
		if cerr := pause(ctx, min(windowBackoff(attempt), left)); cerr != nil {
			return errors.Join(err, cerr)
		}
		err = remove()
	}
	return err
}
