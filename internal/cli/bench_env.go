package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// uninitialised reports whether root holds no volume yet: neither its
// volume-id nor its config exists. It creates nothing to find out. Any other
// answer (a permission denied, a .sharedwrite that is a file) counts as a
// volume: the coordinator's open then reports what is wrong with it.
func uninitialised(root *os.Root) bool {
	for _, name := range []string{metaDir + "/volume-id", metaDir + "/config"} {
		if _, err := root.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// benchEnv holds the coordinators the bench needs, each with its own lock
// descriptors (as separate processes would have) and, in Redis mode, a client
// whose round trips are counted.
type benchEnv struct {
	g       *globals
	v       *volumeCalls
	client  redis.UniversalClient
	counter *rttCounter
	coords  []*coordinator.Coordinator
	// sub is the coordinators' root relative to the bench's root: "" when
	// they share it, the bench's directory when the root holds no volume.
	sub string
	// run is the run record, open with its file lock held (markRun).
	run *os.File
}

func newBenchEnv(g *globals, v *volumeCalls) (*benchEnv, error) {
	e := &benchEnv{g: g, v: v, counter: &rttCounter{}}
	if g.redisURL != "" {
		c, err := locking.NewClient(g.clientURL())
		if err != nil {
			return nil, usageError{err}
		}
		c.AddHook(e.counter)
		e.client = c
	}
	return e, nil
}

// open opens workers coordinators on root, each open bounded by --timeout.
func (e *benchEnv) open(ctx context.Context, root string, workers int) error {
	opts := []coordinator.Option{coordinator.WithLeaseTTL(e.g.leaseTTL), coordinator.WithLogger(e.g.logger)}
	if e.client != nil {
		opts = append(opts, coordinator.WithRedis(e.client))
	}
	for range workers {
		octx, cancel := e.g.bounded(ctx)
		c, err := volumeCall(octx, e.v, func() (*coordinator.Coordinator, error) { return coordinator.Open(octx, root, opts...) })
		cancel()
		if errors.Is(err, errNoAnswer) {
			return fmt.Errorf("bench: open the volume at %s: %w", quote.Name(root), err)
		}
		if err != nil {
			return err
		}
		e.coords = append(e.coords, c)
	}
	return nil
}

// closeCoords closes the coordinators, each close bounded by ctx; on a stuck
// volume it leaves them to the process's exit.
func (e *benchEnv) closeCoords(ctx context.Context) {
	for _, c := range e.coords {
		e.v.do(ctx, c.Close) //nolint:errcheck // nothing of the bench's is committed by a close
	}
	e.coords = nil
}

// Close closes the coordinators left open (see closeCoords) and the Redis
// client.
func (e *benchEnv) Close() {
	ctx, cancel := e.g.bounded(context.Background())
	defer cancel()
	e.closeCoords(ctx)
	e.closeRun(ctx)
	if e.client != nil {
		e.client.Close()
	}
}

// cleanup removes the bench's directory (dir, in the bench's root), then the
// lock files and the Redis keys of the names the bench wrote in it (base/name
// relative to the coordinators' root): a bench leaves nothing behind. (Lock
// files are otherwise never unlinked, since another process may wait on one;
// no one else knows these names, and the bench's own operations have ended.)
// On a root that held no volume the coordinators' metadata is in dir and goes
// with it. It runs also after an error, with --timeout for its calls on the
// volume and again for the Redis keys' deletion, and after a signal (ctx
// ended, before it or while it runs), when each of the two is ended
// callGrace after the signal or after it starts, whichever is later (see
// cleanupContext): a volume that stops answering as the signal comes must
// not hold up the exit by another --timeout. On a volume that is stuck it
// touches only Redis. It returns what it could not remove.
func (e *benchEnv) cleanup(ctx context.Context, root *os.Root, dir, base string, names []string) error {
	cctx, cancel := e.g.cleanupContext(ctx)
	defer cancel()
	var rkeys []string
	if e.client != nil && len(e.coords) > 0 {
		for _, n := range names {
			rkeys = append(rkeys, locking.RedisKeys(e.coords[0].VolumeID(), path.Join(base, n)).Stored()...)
		}
	}
	// Closed first: an open file cannot be removed on Windows. Once the
	// record is closed its lock is free, but this process still runs: a
	// bench on this host leaves the directory alone (see sweepLeftovers).
	e.closeCoords(cctx)
	e.closeRun(cctx)
	var errs []error
	if err := e.v.stuck(); err != nil {
		left := quote.Name(dir)
		if e.sub == "" {
			left += " and the lock files of its names"
		}
		errs = append(errs, fmt.Errorf("bench: %s left in the root: the volume did not answer", left))
	} else if err := e.v.do(cctx, func() error { return root.RemoveAll(dir) }); err != nil {
		errs = append(errs, fmt.Errorf("bench: remove %s: %w", quote.Name(dir), err))
	}
	for _, n := range names {
		if e.v.stuck() != nil {
			break
		}
		lf := path.Join(e.sub, locking.LockPath(path.Join(base, n)))
		if err := e.v.do(cctx, func() error { return root.Remove(lf) }); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("bench: remove lock file %s: %w", quote.Name(lf), err))
		}
	}
	if len(rkeys) > 0 && e.counter.failed() != nil {
		// The run stopped on it: waiting for Redis again would only delay
		// the exit (6) by another --timeout.
		// Named, as their run record goes with the directory: nothing
		// else tells them from the volume's own keys.
		errs = append(errs, fmt.Errorf("bench: the Redis keys of %s were not deleted (Redis did not answer); they hold nothing of the volume's files: DEL %s", quote.Name(dir), strings.Join(rkeys, " ")))
	} else if len(rkeys) > 0 {
		// One DEL per key in one pipeline: the names' keys lie in different
		// Cluster slots. Its own bound: after a signal, the volume's part
		// may have used up cctx's grace, and the keys of a Redis that
		// answers are still to go.
		rctx, rcancel := e.g.cleanupContext(ctx)
		_, err := e.client.Pipelined(rctx, func(p redis.Pipeliner) error {
			for _, k := range rkeys {
				p.Del(rctx, k)
			}
			return nil
		})
		rcancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("bench: delete the Redis keys of %s: %w", quote.Name(dir), err))
		}
	}
	return errors.Join(errs...)
}
