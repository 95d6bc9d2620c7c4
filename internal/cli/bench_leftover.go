package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// benchDirPrefix starts the name of every bench directory in the root: the
// prefix, then randomHex(4).
const benchDirPrefix = "sharedwrite-bench-"

// benchRunFile is the run record in a bench directory (benchRun, as JSON).
// The run that made the directory holds a file lock on the record for as
// long as it lives; the kernel drops that lock when the process ends,
// however it ends (SIGKILL included), which is what tells a later bench
// that the directory is a leftover (see sweepLeftovers).
const benchRunFile = ".bench-run"

// benchRun is what a later bench needs to know of a run to tell whether it
// still runs and to remove what it left: the directory, the lock files of
// its names and their Redis keys, all derived from the directory's name and
// Keys, never read from the record as paths.
type benchRun struct {
	Host string `json:"host"`
	// Space names the pid space PID belongs to, where the platform tells
	// (Linux: the boot and the pid namespace): the same host name in
	// another container or after a reboot is not the same pid space.
	Space string `json:"pid_space,omitempty"`
	PID   int    `json:"pid"`
	// Start is the process's start time as procStart gives it ("" where
	// the platform does not tell): with PID it survives the pid's reuse.
	Start string `json:"start,omitempty"`
	// Keys is the number of key-N names (benchNames).
	Keys int `json:"keys"`
	// Volume is the volume id of the names' Redis keys; "" in local mode.
	Volume string `json:"redis_volume,omitempty"`
	// Own is set when the run's coordinators used the directory as their
	// root (a root with no volume): the names' lock files are inside it.
	Own bool `json:"own_volume,omitempty"`
}

// benchNames are the names a run writes in its directory (and holds lock
// files and Redis keys for): coordinated, contended, key-0 .. key-(keys-1).
func benchNames(keys int) []string {
	names := []string{"coordinated", "contended"}
	for w := range keys {
		names = append(names, fmt.Sprintf("key-%d", w))
	}
	return names
}

// isBenchDir reports whether name is a bench directory's name.
func isBenchDir(name string) bool {
	h, ok := strings.CutPrefix(name, benchDirPrefix)
	if !ok || len(h) != 8 {
		return false
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// thisRun is the record of this process's run, without Keys, Volume, Own.
func thisRun() benchRun {
	h, _ := os.Hostname()
	pid := os.Getpid()
	return benchRun{Host: h, Space: procSpace(), PID: pid, Start: procStart(pid)}
}

// markRun writes dir's run record (this process's; keys key-N names; own:
// the coordinators' root is dir) and keeps it open, its file lock held,
// until closeRun. The record is written, synced and locked under a temporary
// name and only then renamed into place: whoever finds it finds it whole
// and, while this run lives, locked. (A run killed before the rename leaves
// a directory with no record, which sweepLeftovers leaves alone.) Bounded by
// --timeout.
func (e *benchEnv) markRun(ctx context.Context, root *os.Root, dir string, keys int, own bool) error {
	rec := thisRun()
	rec.Keys, rec.Own = keys, own
	if e.client != nil && len(e.coords) > 0 {
		rec.Volume = e.coords[0].VolumeID()
	}
	ctx, cancel := e.g.bounded(ctx)
	defer cancel()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp, name := path.Join(dir, benchRunFile+".tmp"), path.Join(dir, benchRunFile)
	f, err := volumeCall(ctx, e.v, func() (*os.File, error) {
		f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		held, err := tryFlock(f)
		if err == nil && held {
			err = errors.New("held by another open file")
		}
		if err != nil {
			err = fmt.Errorf("flock %s: %w", quote.Name(tmp), err)
		}
		if err == nil {
			_, err = f.Write(b)
		}
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = root.Rename(tmp, name)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	})
	if err != nil {
		return fmt.Errorf("bench: write the run record %s: %w", quote.Name(name), err)
	}
	e.run = f
	return nil
}

// closeRun closes the run record (dropping its lock), bounded by ctx: an
// open file cannot be removed on Windows.
func (e *benchEnv) closeRun(ctx context.Context) {
	if e.run != nil {
		e.v.do(ctx, e.run.Close) //nolint:errcheck // the record goes with the directory
		e.run = nil
	}
}

// note says msg on stderr: what the bench did or left besides its figures.
func (e *benchEnv) note(msg string) {
	io.WriteString(e.g.stderr, "sharedwrite: "+msg+"\n")
}

// sweepLeftovers removes, before the run makes its own directory, what
// earlier bench runs on the root left because they were killed (SIGKILL, an
// OOM kill: a normal exit, SIGINT and SIGTERM clean up) and says on stderr
// what it removed. A run is over when the file lock on its record can be
// taken and, when the run was on this host (in this pid space), its process
// is gone (no such pid, or a pid reused: another start time); on another
// host, when the file locks on this filesystem reach every process that uses
// it (a local filesystem, or NFS: see fsInfo.lockScope; on NFS a lock the
// server revoked after a partition longer than its lease is free too, and
// that run's writes fail anyway). A run whose end
// cannot be told (another host on sshfs, a record missing or unreadable) is
// left as it is, and said so. A live run's directory is never touched: it
// holds its record's lock, or its process is found.
//
// It touches only bench directories (sharedwrite-bench-<8 hex> directories
// in the root), the lock files of the bench names in them and those names'
// Redis keys on this volume. Its calls are bounded by --timeout, as the
// bench's are; only a volume that does not answer (or a signal) ends the
// run: another error is said and the bench goes on.
func (e *benchEnv) sweepLeftovers(ctx context.Context, root *os.Root) error {
	sctx, cancel := e.g.bounded(ctx)
	defer cancel()
	dirs, err := volumeCall(sctx, e.v, func() ([]string, error) { return benchDirsIn(root) })
	for i := 0; err == nil && i < len(dirs); i++ {
		err = e.sweepOne(sctx, root, dirs[i])
		if err != nil && !errors.Is(err, errNoAnswer) && ctx.Err() == nil {
			e.note(err.Error())
			err = nil
		}
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, errNoAnswer):
		return fmt.Errorf("bench: look for the leftovers of earlier runs in %s: %w", quote.Name(e.g.root), err)
	default:
		e.note(fmt.Sprintf("bench: look for the leftovers of earlier runs in %s: %v", quote.Name(e.g.root), err))
	}
	return nil
}

// benchDirsIn lists the bench directories in root (not symlinks to one).
func benchDirsIn(root *os.Root) ([]string, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var dirs []string
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if !isBenchDir(n) {
				continue
			}
			if fi, err := root.Lstat(n); err == nil && fi.IsDir() {
				dirs = append(dirs, n)
			}
		}
		if errors.Is(err, io.EOF) {
			return dirs, nil
		}
		if err != nil {
			return dirs, err
		}
	}
}

// foundRun is a run record as sweepOne found it.
type foundRun struct {
	f    *os.File // open, its lock taken; nil when held or missing
	run  benchRun
	held bool
	bad  error // the record could not be read
}

// sweepOne removes the bench directory dir if its run is over (see
// sweepLeftovers), with its lock files and Redis keys.
func (e *benchEnv) sweepOne(ctx context.Context, root *os.Root, dir string) error {
	rec := path.Join(dir, benchRunFile)
	fr, err := volumeCall(ctx, e.v, func() (foundRun, error) { return openRun(root, rec) })
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.note(fmt.Sprintf("bench: %s has no run record (a bench of an earlier version, or one that is making it now): left as it is", quote.Name(dir)))
		return nil
	case err != nil:
		return fmt.Errorf("bench: read the run record %s: %w", quote.Name(rec), err)
	case fr.held:
		return nil // a live run
	}
	release := func() { e.v.do(ctx, fr.f.Close) } //nolint:errcheck // read only
	if fr.bad != nil {
		release()
		return fmt.Errorf("bench: %s: its run record cannot be read (%v): left as it is", quote.Name(dir), fr.bad)
	}
	r := fr.run
	by := fmt.Sprintf("bench pid %d on host %s", r.PID, quote.Name(r.Host))
	over, err := e.runOver(ctx, dir, r)
	if err != nil || !over {
		release()
		return err
	}
	var rkeys []string
	if r.Volume != "" {
		if e.client == nil || len(e.coords) == 0 || e.coords[0].VolumeID() != r.Volume {
			release()
			return fmt.Errorf("bench: %s, left by %s, which no longer runs, has Redis keys on volume %s: left as it is for a bench with --redis on that volume to remove",
				quote.Name(dir), by, quote.Name(r.Volume))
		}
		for _, n := range benchNames(r.Keys) {
			rkeys = append(rkeys, locking.RedisKeys(r.Volume, path.Join(dir, n)).Stored()...)
		}
	}
	// The Redis keys first, then the lock files, then the directory with
	// its record: a sweep cut short leaves the record for the next one.
	if len(rkeys) > 0 {
		_, err := e.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range rkeys {
				p.Del(ctx, k)
			}
			return nil
		})
		if err != nil {
			release()
			return fmt.Errorf("bench: delete the Redis keys of %s, left by %s: %w", quote.Name(dir), by, err)
		}
	}
	err = e.v.do(ctx, func() error {
		if !r.Own {
			for _, n := range benchNames(r.Keys) {
				lf := locking.LockPath(path.Join(dir, n))
				if err := root.Remove(lf); err != nil && !errors.Is(err, fs.ErrNotExist) {
					fr.f.Close()
					return fmt.Errorf("remove lock file %s: %w", quote.Name(lf), err)
				}
			}
		}
		fr.f.Close()
		return root.RemoveAll(dir)
	})
	if err != nil {
		return fmt.Errorf("bench: remove %s, left by %s, which no longer runs: %w", quote.Name(dir), by, err)
	}
	what := ""
	switch {
	case len(rkeys) > 0:
		what = fmt.Sprintf(", with the lock files and the %d Redis keys of its names", len(rkeys))
	case !r.Own:
		what = ", with the lock files of its names"
	}
	e.note(fmt.Sprintf("bench: removed %s%s: left by %s, which no longer runs", quote.Name(dir), what, by))
	return nil
}

// openRun opens the run record rec and takes its file lock without waiting.
// A lock held by another open file is a live run's (held); otherwise the
// record, read, is returned open with its lock taken.
func openRun(root *os.Root, rec string) (foundRun, error) {
	// Read-write: on NFS an exclusive lock needs a file open for writing.
	f, err := root.OpenFile(rec, os.O_RDWR, 0)
	if err != nil {
		return foundRun{}, err
	}
	held, err := tryFlock(f)
	if err != nil || held {
		f.Close()
		if err != nil {
			err = fmt.Errorf("flock %s: %w", quote.Name(rec), err)
		}
		return foundRun{held: held}, err
	}
	fr := foundRun{f: f}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err == nil {
		err = json.Unmarshal(b, &fr.run)
	}
	switch r := fr.run; {
	case err != nil:
		fr.bad = err
	case r.PID <= 0 || r.Keys < 0 || r.Keys > benchMaxWorkers:
		fr.bad = fmt.Errorf("pid %d, %d keys", r.PID, r.Keys)
	}
	return fr, nil
}

// runOver reports whether the run r of dir, whose record's lock is free,
// is over: on this host (pid space), when its process is gone; elsewhere,
// when the file locks on the root's filesystem reach every process that
// uses it, so that a free lock means no process holds it. A run whose end
// cannot be told is left, with an error saying so.
func (e *benchEnv) runOver(ctx context.Context, dir string, r benchRun) (bool, error) {
	me := thisRun()
	if me.Host != "" && r.Host == me.Host && r.Space == me.Space {
		// Its process found alive: a live run whose lock is not seen from
		// here (another mount of the volume). Left, and nothing to say.
		return processGone(r.PID, r.Start), nil
	}
	fi, err := volumeCall(ctx, e.v, func() (fsInfo, error) {
		abs, err := filepath.Abs(e.g.root)
		if err != nil {
			return fsInfo{}, err
		}
		return probeFS(abs), nil
	})
	if err != nil {
		return false, err
	}
	if scope, _ := fi.lockScope(); scope == scopeHost || scope == scopeCluster {
		return true, nil
	}
	return false, fmt.Errorf("bench: %s: its run, bench pid %d on host %s, cannot be checked from here (the file locks of this volume may not reach that host): left as it is",
		quote.Name(dir), r.PID, quote.Name(r.Host))
}
