package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// Option configures one call of a Root method. Options a method does not use
// are ignored by it. The zero set of options gives the documented defaults.
type Option func(*config)

type config struct {
	preCommit     []func(ctx context.Context, c Change) error
	mode          fs.FileMode
	forceMode     bool
	keepMtime     bool
	tempDir       string
	createOnly    bool
	acceptDurable bool
	warn          func(error)
	inPlace       bool
	retryNoSpace  bool
	accept        func(c Content) bool
	window        time.Duration
	observe       []func(Event)
	beforeLock    bool
	hashOnly      bool
	viewInPlace   bool // see ViewInPlace
	maxRead       int64
	prefix        int64 // ReadPrefix's n + 1; 0: the whole file
	keepStaged    bool
	dirMode       bool // MkdirAll with Mode: mode applies to the directories it creates
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Change describes the visible change a PreCommit hook is about to allow.
// Op is one of "replace", "create", "move", "remove", "symlink", "inplace".
// Name is the target and Temp the temp file (both root-relative; Temp is empty
// when there is none); SHA256 and Size describe the new content when there is one.
type Change struct {
	Op     string
	Name   string
	Temp   string
	SHA256 [32]byte
	Size   int64
}

// PreCommit adds a hook run just before the visible change of every mutating
// operation (replace, create-only, move, remove, symlink swap, in-place
// rewrite). When it returns an error the operation is not committed: nothing
// visible changed, the temp and the directories the call created are removed,
// and the error is returned wrapped in an *Error with Op "pre-commit". A hook
// that panics is undone the same way, and its panic then goes on to the
// caller. Several hooks run in the order given; the first error stops them.
func PreCommit(fn func(ctx context.Context, c Change) error) Option {
	return func(c *config) {
		if fn != nil {
			c.preCommit = append(c.preCommit, fn)
		}
	}
}

// Mode forces the final mode of the file, also when it replaces an existing
// file (which otherwise keeps its mode). The umask does not apply.
//
// For MkdirAll, the directories it creates get mode m exactly (not reduced
// by the umask), the parents of the last one with owner write and search
// added (so that the next one can be created in them: "a/b" with 0555 gives
// a 0755 and b 0555), and the set-group-ID bit a directory inherits from its
// parent kept; existing directories are left as they are.
func Mode(m fs.FileMode) Option {
	return func(c *config) { c.mode, c.forceMode = m, true }
}

// BeforeLock says Create is called before the caller holds the target's lock,
// to overlap creating, writing and syncing the temp (File.Sync) with taking
// that lock. Create then creates no directory (a missing one is an error
// wrapping fs.ErrNotExist: directories are made and rolled back only by the
// lock's holder), and leaves to Commit the restore of an interrupted in-place
// rewrite (which must not race the lock's holder); Commit reads the target's
// owner, mode and times again, fixing the temp when they changed after Sync.
func BeforeLock() Option { return func(c *config) { c.beforeLock = true } }

// KeepMtime gives the new content the modification time of the file it
// replaces (no effect when the target does not exist).
func KeepMtime() Option { return func(c *config) { c.keepMtime = true } }

// TempDir writes the temp file in rel (a directory inside the root) instead of
// beside the target. When rel is on another filesystem the temp is copied into
// a second temp beside the target before the commit (the EXDEV fallback), so
// the visible change is still one rename in the target's directory.
func TempDir(rel string) Option { return func(c *config) { c.tempDir = rel } }

// CreateOnly commits with link(2) (or renameat2 RENAME_NOREPLACE where links
// are not supported) instead of rename: an existing target is never replaced,
// and the call fails with ErrExist when someone else created it first.
func CreateOnly() Option { return func(c *config) { c.createOnly = true } }

// AcceptUnconfirmedDurability accepts volumes whose directory fsync is refused
// (EINVAL/ENOTSUP on some FUSE and CIFS mounts): such a commit returns nil and
// warn (if non-nil) receives the ErrDurabilityUnconfirmed error instead.
func AcceptUnconfirmedDurability(warn func(error)) Option {
	return func(c *config) { c.acceptDurable, c.warn = true, warn }
}

// InPlaceIfBusy allows, when the target is busy (a file bind-mounted onto
// it), an in-place rewrite through a fsynced backup and intent marker. Such a
// rewrite is not atomic for readers.
func InPlaceIfBusy() Option { return func(c *config) { c.inPlace = true } }

// KeepStaged is for a caller whose PreCommit hook is its own commit point
// (a transaction's intent): once the hooks have accepted a commit, a rename
// or link that then fails leaves the temp where it is — fsynced, closed and
// no longer flocked — for RenameStaged, instead of removing it. Commit's
// error then wraps ErrStaged. Before the hooks accept, it changes nothing.
func KeepStaged() Option { return func(c *config) { c.keepStaged = true } }

// RetryNoSpace makes MkdirAll treat ENOSPC as transient (retried within the
// context's deadline).
func RetryNoSpace() Option { return func(c *config) { c.retryNoSpace = true } }

// Until makes ReadVersion re-read, with backoff, until accept returns true for
// what it read, or window (and the context) ends; then it returns the last
// read together with ErrStaleView. A window <= 0 means: until the context ends.
func Until(accept func(c Content) bool, window time.Duration) Option {
	return func(c *config) { c.accept, c.window = accept, window }
}

// HashOnly makes ReadVersion return the file's sha256, size and mode without
// its content (Data nil), read through a 1 MiB buffer: memory does not grow
// with the file. (A reader that may not settle a leftover in-place rewrite
// reads the version it is given whole, as without the option.)
func HashOnly() Option { return func(c *config) { c.hashOnly = true } }

// ViewInPlace makes ReadVersion and ReadFile leave a leftover in-place
// rewrite of the file (see InPlaceIfBusy) unsettled: they read the version
// settling would leave (the target when it holds the marker's old or new
// content, else the backup, which holds the old one) and change nothing.
// For a reader whose lock does not exclude in-place rewriters on other
// hosts: the flock a live rewrite holds on its backup, which settling waits
// for, does not reach other hosts on sshfs, most FUSE mounts and NFS with
// local locks, so settling there could take a live rewrite for a crashed one.
func ViewInPlace() Option { return func(c *config) { c.viewInPlace = true } }

// MaxReadSize bounds a whole-file read (ReadFile, ReadVersion without
// HashOnly) to n bytes. A file whose size is above n is refused before any
// buffer is allocated for it, and one that grows past n while it is read is
// refused once n+1 bytes are read: memory never holds more than n+1 bytes of
// it. The refusal is an *Error wrapping ErrTooLarge and syscall.EFBIG, and is
// not retried. A HashOnly read is not bounded (its memory does not grow with
// the file). n <= 0 means no limit, the default. The bound holds as well for
// a reader that may not settle a leftover in-place rewrite and reads the
// version settling would leave (the file or its backup).
func MaxReadSize(n int64) Option { return func(c *config) { c.maxRead = n } }

// ReadPrefix makes ReadVersion read only the first n bytes of the file (n >=
// 0): Data holds them, SHA256 is their hash and Size their count, less than n
// only when the file is shorter. MaxReadSize then bounds what is read, not
// the file, so that what lies past the prefix (an appended log's
// unacknowledged tail) is neither read nor refused. HashOnly and the read of a leftover in-place
// rewrite's version that a reader may not settle ignore it.
func ReadPrefix(n int64) Option { return func(c *config) { c.prefix = max(n, 0) + 1 } }

// Observe adds a function that receives an Event for each step of an
// operation (for tracing and metrics). It is called synchronously and must be
// quick and safe for concurrent use. It should not panic. A panic in
// File.Commit goes on to its caller once the temp is removed (kept, past the
// commit point, for KeepStaged), and the coordinator's operations release
// their keys before it goes on; but a panic in another step may leave a temp
// for Sweep, and one in a coordinator transaction's commit, which runs on a
// goroutine of its own, ends the process (its intent, once written, still
// completes the transaction).
func Observe(fn func(Event)) Option {
	return func(c *config) {
		if fn != nil {
			c.observe = append(c.observe, fn)
		}
	}
}

// Event reports one step of an operation. Step is one of "write", "fsync",
// "rename", "dirsync", "exdev-fallback", "retry", "rollback",
// "restore-inplace", "inplace-cleanup" (a committed in-place rewrite could
// not remove its marker; the next operation on the name does), "remove",
// "sweep-remove", "move-complete-intent", "move-discard-intent", "prune"
// (PublishDir could not remove an old version; the next publish retries). Path is
// root-relative; Bytes is set for data steps.
type Event struct {
	Step  string
	Path  string
	Dur   time.Duration
	Err   error
	Bytes int64
}

// emit sends an Event for step to every observer; start is when the step began.
func (c *config) emit(step, path string, start time.Time, bytes int64, err error) {
	if len(c.observe) == 0 {
		return
	}
	ev := Event{Step: step, Path: path, Dur: time.Since(start), Err: err, Bytes: bytes}
	for _, fn := range c.observe {
		fn(ev)
	}
}

// runPreCommit runs the PreCommit hooks for ch. A non-nil result means the
// visible change must not happen; it is already an *Error (Op "pre-commit").
func (c *config) runPreCommit(ctx context.Context, ch Change) error {
	if err := ctx.Err(); err != nil {
		return newError("pre-commit", ch.Name, context.Cause(ctx))
	}
	for _, fn := range c.preCommit {
		if err := runHook(ctx, fn, ch); err != nil {
			return &Error{Op: "pre-commit", Path: ch.Name, Err: err} // the hook's error as it is
		}
	}
	return nil
}

// runHook runs fn, turning a panic into a *hookPanic: the operation then
// undoes what it did, as for a hook that fails, and panics on with the same
// value on its way out (rethrow).
func runHook(ctx context.Context, fn func(context.Context, Change) error, ch Change) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &hookPanic{value: p}
		}
	}()
	return fn(ctx, ch)
}

// hookPanic carries a PreCommit hook's panic through the operation's
// clean-up.
type hookPanic struct{ value any }

func (h *hookPanic) Error() string { return fmt.Sprintf("pre-commit hook panicked: %v", h.value) }

// rethrow panics with a hook's panic value when *err carries one: the
// operation's clean-up is done, and the panic goes on to the caller.
func rethrow(err *error) {
	var hp *hookPanic
	if *err != nil && errors.As(*err, &hp) {
		panic(hp.value)
	}
}

// ---- options added for Move, in-place rewrite, MkdirAll, Sweep, PublishDir, Remove ----

// OtherHostGrace sets how old (by mtime) a temp named for another host must
// be before Sweep removes it (default DefaultOtherHostGrace, 24 h): another
// host's flock on its temp is invisible from here on sshfs and most FUSE
// mounts. Only Sweep reads it.
func OtherHostGrace(d time.Duration) Option {
	return func(c *config) {
		if so, ok := sweepConfigs.Load(c); ok {
			so.(*sweepOpts).otherHostGrace = d
		}
	}
}

// SweepSettleWith makes Sweep settle each leftover in-place rewrite it finds
// (see InPlaceIfBusy) through with: with calls settle while it holds the lock
// that excludes every rewriter of target (the root-relative name the marker
// names) on every host, such as the key's lease, and returns settle's error
// or its own (the rewrite is then left for a later sweep). A marker that
// names no target (torn, or not this package's) is removed only once older
// than olderThan: a rewriter elsewhere may be writing it. Only Sweep reads it.
func SweepSettleWith(with func(ctx context.Context, target string, settle func(context.Context) error) error) Option {
	return func(c *config) {
		if so, ok := sweepConfigs.Load(c); ok {
			so.(*sweepOpts).settleWith = with
		}
	}
}

// SweepKeep makes Sweep leave the temps for which keep returns true (given
// their root-relative names), whatever their age: a transaction's staged
// temps, still named by an intent that could not be completed yet. Only
// Sweep reads it.
func SweepKeep(keep func(rel string) bool) Option {
	return func(c *config) {
		if so, ok := sweepConfigs.Load(c); ok {
			so.(*sweepOpts).keep = keep
		}
	}
}
