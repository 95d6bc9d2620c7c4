package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// volume is the coordinated volume the commands work on. This file is the one
// place that speaks to the coordinator package.
type volume struct {
	c *coordinator.Coordinator
}

// writeOptions are the write command's flags.
type writeOptions struct {
	perm          fs.FileMode
	forceMode     bool
	keepMtime     bool
	inPlaceIfBusy bool
}

// leaseInfo is what `lock NAME -- CMD` hands to CMD.
type leaseInfo struct {
	Volume  string // the volume's id
	Key     string
	LeaseID string
	Token   uint64
	Fd      uintptr
	Turn    string // the scope of the adopters' turns
}

// defaultMaxReadSize is the --max-read-size default: the coordinator's.
const defaultMaxReadSize = coordinator.DefaultMaxReadSize

// coordinatorOptions are the options every command opens the volume with.
func (g *globals) coordinatorOptions() ([]coordinator.Option, error) {
	opts := []coordinator.Option{
		coordinator.WithLeaseTTL(g.leaseTTL),
		coordinator.WithLogger(g.logger),
		coordinator.WithMaxReadSize(g.maxReadSize),
	}
	if g.redisURL != "" {
		opts = append(opts, coordinator.WithRedisURL(g.clientURL()))
	}
	l, ok, err := adoptedLease()
	if err != nil {
		return nil, err
	}
	if ok && l.FD >= 0 && (l.Volume == "" || l.Volume == rootVolumeID(g.root)) {
		opts = append(opts, coordinator.WithAdoptedLease(l.Key, l.Lease, l.Token, uintptr(l.FD)), coordinator.WithAdoptedTurn(l.Turn))
	}
	return opts, nil
}

// rootVolumeID reads the id of the volume at root, "" when it has none yet
// or cannot be read: no parent's lease is then for this volume, and the
// coordinator's open reports what is wrong with it.
func rootVolumeID(root string) string {
	r, err := os.OpenRoot(root)
	if err != nil {
		return ""
	}
	defer r.Close()
	b, err := r.ReadFile(metaDir + "/volume-id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func openVolume(ctx context.Context, g *globals) (*volume, error) {
	opts, err := g.coordinatorOptions()
	if err != nil {
		return nil, err
	}
	if g.redisURL == "" {
		// Local mode creates its volume on first use, so `--root /tmp/demo`
		// works on a fresh machine. Redis mode never does: a missing mount must
		// not turn into a new, empty volume.
		if _, err := os.Stat(g.root); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(g.root, 0o755); err != nil {
				return nil, volumeError{fmt.Errorf("create root %s: %w", quote.Name(g.root), err)}
			}
			g.logger.Info("created the root directory (local mode)", "root", quote.Value(g.root))
		}
	}
	c, err := coordinator.Open(ctx, g.root, opts...)
	if err != nil {
		return nil, err
	}
	return &volume{c: c}, nil
}

func (v *volume) Close() error { return v.c.Close() }

// initVolume publishes the volume's identity for Redis mode.
func initVolume(ctx context.Context, g *globals) (string, error) {
	if g.redisURL == "" {
		return "", usagef("init-volume needs --redis or $SHAREDWRITE_REDIS (local mode initialises the volume on first use)")
	}
	client, err := locking.NewClient(g.clientURL())
	if err != nil {
		return "", usageError{err}
	}
	defer client.Close()
	return coordinator.InitVolume(ctx, g.root, client)
}

// WriteFrom writes what r delivers to name; from names r in an error.
func (v *volume) WriteFrom(ctx context.Context, name string, r io.Reader, from string, o writeOptions) error {
	var wo []writer.Option
	if o.forceMode {
		wo = append(wo, writer.Mode(o.perm))
	}
	if o.keepMtime {
		wo = append(wo, writer.KeepMtime())
	}
	if o.inPlaceIfBusy {
		wo = append(wo, writer.InPlaceIfBusy())
	}
	f, err := v.c.Create(ctx, name, o.perm, wo...)
	if err != nil {
		return err
	}
	// stdin may block with no data and no EOF: ctxReader lets the timeout or
	// a signal end the copy, and the temp is then removed (nothing committed).
	if _, err := io.Copy(f, newCtxReader(ctx, r)); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: copy the content from %s: %w", quote.Name(name), from, err)
	}
	return f.Commit(ctx)
}

func (v *volume) ReadFile(ctx context.Context, name string) ([]byte, error) {
	return v.c.ReadFile(ctx, name)
}

func (v *volume) Update(ctx context.Context, name string, fn func(ctx context.Context, old []byte, exists bool) ([]byte, error)) error {
	return v.c.UpdateContext(ctx, name, fn)
}

func (v *volume) InitOnce(ctx context.Context, name string, gen func(context.Context) ([]byte, error)) ([]byte, error) {
	return v.c.InitOnce(ctx, name, gen)
}

// MkdirAll creates name and its missing parents: with exact, each with perm
// exactly (the parents also writable and searchable by their owner, as the
// next one is made in them), else perm less the umask.
func (v *volume) MkdirAll(ctx context.Context, name string, perm fs.FileMode, exact bool) error {
	if exact {
		// Made with the exact mode at once: killed between a directory's
		// mkdir and the chmod that follows, it would keep perm less the
		// umask, which a second run does not change (it finds it there).
		return withoutUmask(func() error { return v.c.MkdirAll(ctx, name, perm, writer.Mode(perm)) })
	}
	return v.c.MkdirAll(ctx, name, perm)
}

func (v *volume) Move(ctx context.Context, src, dst string) error {
	return v.c.Move(ctx, src, dst)
}

func (v *volume) RepairRecord(ctx context.Context, name string) (coordinator.Repair, error) {
	return v.c.RepairRecord(ctx, name)
}

func (v *volume) Remove(ctx context.Context, name string) error {
	return v.c.Remove(ctx, name)
}

func (v *volume) Lock(ctx context.Context, name string, fn func(context.Context, leaseInfo) error) error {
	return v.c.Lock(ctx, name, func(ctx context.Context, l coordinator.LeaseInfo) error {
		return fn(ctx, leaseInfo{Volume: v.c.VolumeID(), Key: l.Key, LeaseID: l.LeaseID, Token: l.Token, Fd: l.Fd, Turn: l.Turn})
	})
}

func (v *volume) Sweep(ctx context.Context, olderThan time.Duration) (coordinator.SweepReport, error) {
	return v.c.Sweep(ctx, olderThan)
}

// newCommandFailed wraps the failure of the command after `--` (exit 8).
func newCommandFailed(path string, status int, err error) error {
	return &coordinator.CommandFailedError{Path: path, Status: status, Err: err}
}

// libraryExitCode maps an error of the coordinator, writer or locking packages.
func libraryExitCode(err error) int { return coordinator.ExitCode(err) }

// newRedisClient returns a client for u, for doctor and bench.
func newRedisClient(u string) (redisClient, error) {
	c, err := locking.NewClient(u)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// redactURL removes the password from a Redis URL, for output and logs.
func redactURL(u string) string { return locking.RedactURL(u) }
