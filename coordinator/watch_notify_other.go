//go:build !linux

package coordinator

import "context"

// notify has no file notifications on this platform: Watch polls.
func (w *watcher) notify(ctx context.Context) (stop func()) { return nil }
