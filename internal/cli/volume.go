package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
	Turn    string          // the scope of the adopters' turns
	Lost    <-chan struct{} // closed when the lease is lost (or released)
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

// openVolume opens the volume at the root. In local mode a missing root is
// created when create is set, and refused (label names the work) when not.
func openVolume(ctx context.Context, g *globals, label string, create bool) (*volume, error) {
	opts, err := g.coordinatorOptions()
	if err != nil {
		return nil, err
	}
	if g.redisURL == "" {
		// Local mode creates its volume on first use, so `--root /tmp/demo`
		// works on a fresh machine. Redis mode never does: a missing mount must
		// not turn into a new, empty volume.
		// What it creates is recorded: a command that then fails removes it
		// again (see removeMadeRoot).
		if _, err := os.Stat(g.root); errors.Is(err, fs.ErrNotExist) {
			if !create {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err // the root is named below
				}
				return nil, volumeError{fmt.Errorf("%s: open root %s: %w", label, quote.Name(g.root), err)}
			}
			made, err := mkdirRoot(g.root)
			g.madeRoot = made
			if err != nil {
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

// madeDir is a directory this run created, as Lstat saw it once made.
type madeDir struct {
	path string
	fi   fs.FileInfo
}

// mkdirRoot creates root and its missing parents, as os.MkdirAll does, and
// returns the directories it created itself, outermost first, also when it
// fails: one that another process made meanwhile is not among them.
func mkdirRoot(root string) ([]madeDir, error) {
	var missing []string
	for p := filepath.Clean(root); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	var made []madeDir
	for i := len(missing) - 1; i >= 0; i-- {
		p := missing[i]
		if err := os.Mkdir(p, 0o755); err != nil {
			if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
				continue // made by another process meanwhile
			}
			return made, err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return made, err
		}
		made = append(made, madeDir{path: p, fi: fi})
	}
	return made, nil
}

// removeMadeRoot removes, after a failed command, the directories the run
// created for its root (see mkdirRoot), newest first, and says why it kept
// the first it did not remove. Each is removed with rmdir, which refuses one
// that is not empty, so that whatever another process put there meanwhile
// keeps it. The root's volume metadata goes first, and only as opening the
// volume makes it: volume-id, config, and locks/ and tx/ empty. A lock file
// is never unlinked: a process waiting for the lock holds it open, and would
// take the lock on the orphaned file while a newcomer locks a new one (see
// locking.LockDir.Open). So a root in which a key was ever locked, by this
// run or by another process, is kept.
//
// A process that opened the volume meanwhile but has made nothing in it yet
// cannot be seen: its next lock then fails (ENOENT), with nothing written.
func (g *globals) removeMadeRoot(ctx context.Context) {
	cctx, cancel := g.cleanupContext(ctx)
	defer cancel()
	root := filepath.Clean(g.root)
	err := new(volumeCalls).do(cctx, func() error {
		for i := len(g.madeRoot) - 1; i >= 0; i-- {
			d := g.madeRoot[i]
			if d.path == root {
				if err := clearVolume(d); err != nil {
					return err
				}
			}
			fi, err := os.Lstat(d.path)
			if err != nil {
				return err
			}
			if !os.SameFile(fi, d.fi) {
				return fmt.Errorf("remove %s: not the directory this run made: %w", quote.Name(d.path), syscall.EEXIST)
			}
			if err := os.Remove(d.path); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		g.logger.Info("the command failed; kept the root directory it created", "root", quote.Value(g.root), "err", err)
		return
	}
	g.logger.Info("the command failed; removed the root directory it created", "root", quote.Value(g.root))
}

// clearVolume removes the volume metadata in the root d, when the root holds
// nothing else and the metadata nothing but what opening the volume makes
// (FORMAT.md): the directories locks/ and tx/, empty, and the files config
// and volume-id.
func clearVolume(d madeDir) error {
	r, err := os.OpenRoot(d.path)
	if err != nil {
		return err
	}
	defer r.Close()
	if fi, err := r.Stat("."); err != nil || !os.SameFile(fi, d.fi) {
		return fmt.Errorf("remove %s: not the directory this run made: %w", quote.Name(d.path), syscall.EEXIST)
	}
	metaDirs, metaFiles := []string{"locks", "tx"}, []string{"config", "volume-id"}
	if err := holdsOnly(r, ".", metaDir); err != nil {
		return err
	}
	if err := holdsOnly(r, metaDir, append(metaDirs, metaFiles...)...); errors.Is(err, fs.ErrNotExist) {
		return nil // the open failed before it made the metadata
	} else if err != nil {
		return err
	}
	for _, n := range append(metaDirs, metaFiles...) {
		name := path.Join(metaDir, n)
		fi, err := r.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		case slices.Contains(metaDirs, n) && !fi.IsDir(), slices.Contains(metaFiles, n) && !fi.Mode().IsRegular():
			return fmt.Errorf("remove %s: not what opening the volume makes (mode %v): %w", quote.Name(name), fi.Mode(), syscall.EEXIST)
		}
		// A directory is removed only when empty (rmdir): a lock file or an
		// intent keeps it, and the root.
		if err := r.Remove(name); err != nil {
			return err
		}
	}
	return r.Remove(metaDir)
}

// holdsOnly reports (ENOTEMPTY) a name in the directory dir of r other than names.
func holdsOnly(r *os.Root, dir string, names ...string) error {
	f, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list %s: %w", quote.Name(dir), err)
	}
	for _, n := range got {
		if !slices.Contains(names, n) {
			return fmt.Errorf("remove %s: it holds %s: %w", quote.Name(dir), quote.Name(n), syscall.ENOTEMPTY)
		}
	}
	return nil
}

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
		return fn(ctx, leaseInfo{Volume: v.c.VolumeID(), Key: l.Key, LeaseID: l.LeaseID, Token: l.Token, Fd: l.Fd, Turn: l.Turn, Lost: l.Lease.Done()})
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
