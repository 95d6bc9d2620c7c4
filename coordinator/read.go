package coordinator

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// matches reports whether what was read is version v.
func matches(v locking.Version, ct writer.Content) bool {
	if v.Token == 0 && !isBaseline(v) {
		return false
	}
	if v.Deleted {
		return !ct.Exists
	}
	if isLogVersion(v) {
		// A crash may leave an unacknowledged tail past the committed length;
		// the next append truncates it, and readers are handed only the prefix.
		return ct.Exists && ct.Size >= v.Size
	}
	return ct.Exists && ct.Size == v.Size && ct.SHA256 == v.SHA256
}

// isLogVersion reports whether v was made by an append or a rotation: those
// record the committed length but no content hash, because hashing the whole
// log on every batch would make each append cost the size of the file. (A
// whole-file write always records a real sha256, which is never all zeros.)
func isLogVersion(v locking.Version) bool {
	return v.SHA256 == [32]byte{} && !v.Deleted
}

// committedPrefix cuts what was read of a log down to the committed length v.
func committedPrefix(v *locking.Version, ct writer.Content) writer.Content {
	if v == nil || !isLogVersion(*v) || ct.Size <= v.Size {
		return ct
	}
	ct.Data = ct.Data[:v.Size]
	ct.Size = v.Size
	ct.SHA256 = sha256.Sum256(ct.Data)
	return ct
}

// otherGeneration reports whether a file that matched log version v by its
// length, read before rec, may be another generation of the file than v's:
// rec shows a commit of a newer generation that may have put another file in
// its place (a rotation, a whole-file write or a removal that began after v's
// record was read). Each such commit writes its pending version before its
// rename, and the record never goes back, so rec, read after the file, shows
// every one that the file read may show.
//
// A newer rotation still pending does not count: its new file is empty until
// the rotation is committed (an append checks the committed generation), so
// it cannot match v unless v is empty too, and v's empty prefix is the same in
// every generation. A newer whole-file version still pending counts only when
// the file shows its content. This keeps a log readable while a dead holder's
// rotation or rewrite waits for the next holder.
func otherGeneration(rec locking.Record, v locking.Version, ct writer.Content) bool {
	if rec.Committed.Generation > v.Generation {
		return true
	}
	p := rec.Pending
	switch {
	case p.Token == 0 || p.Generation <= v.Generation:
		return false
	case isLogVersion(p) && p.Length == 0:
		return false
	case isLogVersion(p):
		return true
	default:
		return matches(p, ct)
	}
}

func sameVersion(a, b locking.Version) bool {
	return a.Token == b.Token && a.LeaseID == b.LeaseID && a.SHA256 == b.SHA256 && a.Size == b.Size && a.Deleted == b.Deleted
}

// expected lists the versions a fresh read may find: committed (or the
// baseline a key's first commit wrote, baseline.go) and, when it is newer,
// pending (a holder that died between its rename and its record update).
func expected(rec locking.Record) []locking.Version {
	var vs []locking.Version
	if rec.Committed.Token != 0 || isBaseline(rec.Committed) {
		vs = append(vs, rec.Committed)
	}
	if rec.Pending.Token != 0 && !sameVersion(rec.Pending, rec.Committed) {
		vs = append(vs, rec.Pending)
	}
	return vs
}

// freshRead reads key and verifies it against the record: it retries through
// the stale-view window while the file matches no recorded version (another
// host's cache may still serve the old file), and never past ctx's deadline. It
// returns what it read and the version it matched (nil: none; a key with no
// record yet, or a file edited outside sharedwrite, adopted as it is).
//
// unheld says that the caller does not hold key's lock: a commit may then land
// between the record's read and the file's, so a file that matches no version
// of rec is checked against the record read again before it counts as stale.
// limit bounds each read of the file (writer.MaxReadSize; 0: none). A file
// over it while a version within it is expected is a stale view too, read
// again through the window.
func (c *Coordinator) freshRead(ctx context.Context, key string, rec locking.Record, unheld bool, limit int64) (writer.Content, *locking.Version, error) {
	rctx, span := c.tel.step(ctx, "read", AttrKey.String(key))
	ct, v, err := c.freshRead1(rctx, key, rec, unheld, limit)
	span.SetAttributes(AttrBytes.Int64(ct.Size))
	endStep(span, err)
	return ct, v, err
}

func (c *Coordinator) freshRead1(ctx context.Context, key string, rec locking.Record, unheld bool, limit int64) (writer.Content, *locking.Version, error) {
	vs := expected(rec)
	// Counted once per read that had to be retried, not per re-read (their
	// number follows the backoff).
	var staleCounted bool
	staleRetried := func() {
		if !staleCounted {
			staleCounted = true
			c.tel.add(ctx, c.tel.staleRetried, AttrKey.String(key))
		}
	}
	read := func(opts ...writer.Option) (writer.Content, error) {
		opts = append(opts, writer.MaxReadSize(limit), c.observeRetries(ctx))
		if unheld {
			opts = append(opts, c.viewInPlace())
		}
		ct, err := c.root.ReadVersion(ctx, key, opts...)
		if errors.Is(err, fs.ErrNotExist) {
			return writer.Content{}, nil
		}
		return ct, err
	}
	if len(vs) == 0 {
		ct, err := read()
		return ct, nil, wrap("read", key, err)
	}
	find := func(ct writer.Content) *locking.Version {
		// A whole-file version's match is proof (sha256 and size), a log
		// version's only a length: a file that shows a whole-file version is
		// that version, even when it is as long as a log version too.
		for _, log := range []bool{false, true} {
			for i := range vs {
				if isLogVersion(vs[i]) == log && matches(vs[i], ct) {
					return &vs[i]
				}
			}
		}
		return nil
	}
	match := func(ct writer.Content) *locking.Version {
		v := find(ct)
		if !unheld || (v != nil && !isLogVersion(*v)) {
			return v
		}
		// Without the lock a commit may land between the record's read and
		// the file's: read the record again. (Unreadable now: the versions
		// read before stand.)
		r, err := c.peekRecord(key)
		if err != nil {
			return v
		}
		if again := expected(r); len(again) > 0 {
			vs = again
		}
		if v != nil {
			if otherGeneration(r, *v, ct) {
				// The file read may be another generation's, as long as
				// the log version: read it again, against the new record.
				return nil
			}
			return v
		}
		// The file may show a version committed after the record was read.
		// A log version counts only when a read follows its record (the
		// file read before may be an older generation, as long as it).
		if v = find(ct); v != nil && isLogVersion(*v) {
			return nil
		}
		return v
	}

	window := c.staleWindow
	if dl, ok := ctx.Deadline(); ok {
		// Leave a quarter of what remains for the work after the read
		// (computed so that a far deadline does not overflow).
		left := time.Until(dl)
		if left -= left / 4; left < window {
			window = left
		}
	}
	var ct writer.Content
	var err error
	// matched is the version the accepted read matched: match reads the
	// record again for a lease-free read, so it is not asked twice.
	var matched *locking.Version
	if window <= 0 {
		// No stale view to wait out; a lease-free read may still race a
		// commit (match asks for another read then): a few reads settle it.
		for tries := 0; ; tries++ {
			ct, err = read()
			if err != nil {
				break
			}
			if matched = match(ct); matched != nil {
				break
			}
			if !unheld || tries == 2 {
				err = writer.ErrStaleView
				break
			}
		}
	} else {
		reads := 0
		until := time.Now().Add(window)
		for attempt := 1; ; attempt++ {
			ct, err = read(writer.Until(func(ct writer.Content) bool {
				reads++
				if reads > 1 {
					staleRetried()
				}
				matched = match(ct)
				return matched != nil
			}, time.Until(until)))
			if !errors.Is(err, writer.ErrTooLarge) || !time.Now().Before(until) {
				break
			}
			if unheld {
				// A commit may have landed since the record was read.
				if r, perr := c.peekRecord(key); perr == nil {
					rec = r
				}
			}
			if !fitsLimit(rec.Committed, limit) {
				break
			}
			// Over the limit while the committed version is within it: a
			// stale view, or a file being replaced; read it again.
			staleRetried()
			if cerr := pause(ctx, min(time.Millisecond<<min(attempt, 8), time.Until(until))); cerr != nil {
				return ct, nil, wrap("read", key, errors.Join(err, cerr))
			}
		}
	}
	if errors.Is(err, writer.ErrStaleView) {
		if c.cfg.strict {
			return ct, nil, wrap("fresh read", key, err)
		}
		if ctx.Err() != nil {
			// Cancelled (Close, the caller) before the window ran out: the
			// mismatch may still be a stale cache, so it is not adopted.
			return ct, nil, wrap("fresh read", key, err)
		}
		if window < c.staleWindow {
			// The deadline cut the window short: the mismatch may still be
			// a stale cache, so it is not adopted. The read ran out of time
			// (ExitCode 3, as for a lease not obtained in time), not out
			// of versions to wait for.
			return ct, nil, wrap("fresh read", key, windowCutError{err: err, window: window, full: c.staleWindow})
		}
		c.tel.add(ctx, c.tel.outsideEdits, AttrKey.String(key))
		c.log.WarnContext(ctx, "file matches no recorded version after the stale-view window: edited outside sharedwrite; adopting it",
			"key", quote.Value(key), "window", window, "size", ct.Size)
		return ct, nil, nil
	}
	if err != nil {
		return ct, nil, wrap("read", key, err)
	}
	return committedPrefix(matched, ct), matched, nil
}

// pause waits d, or until ctx ends: it then returns ctx's cause.
func pause(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// windowBackoff is the wait before retry attempt+1 of an operation tried
// again through the stale-view window (a create-only commit, a removal):
// 10 ms, doubling, at most 640 ms.
func windowBackoff(attempt int) time.Duration { return 10 * time.Millisecond << min(attempt, 6) }

// windowCutError is a fresh read that matched no recorded version before the
// caller's deadline, which left only window of the full stale-view window. It
// wraps the read's error (ErrStaleView) and context.DeadlineExceeded.
type windowCutError struct {
	err          error
	window, full time.Duration
}

func (e windowCutError) Error() string {
	return fmt.Sprintf("%v (the deadline leaves %v of the %v window)", e.err, e.window.Round(time.Millisecond), e.full)
}

func (e windowCutError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }

// verify is the fresh read of a held key: a match with a dead holder's pending
// version promotes it to committed. limit is freshRead's.
func (c *Coordinator) verify(ctx context.Context, h *held, limit int64) (writer.Content, error) {
	ct, v, err := c.freshRead(ctx, h.key, h.rec, false, limit)
	if err != nil {
		return ct, err
	}
	if v != nil && !sameVersion(*v, h.rec.Committed) {
		c.log.InfoContext(ctx, "promoting a dead holder's pending version to committed", "key", quote.Value(h.key), "token", v.Token)
		c.finish(ctx, h, *v)
	}
	return ct, nil
}

// ReadFile returns the content of name, verified against the volume's
// committed record (a reader on another host may see an old version for a
// while after a rename; it is re-read through the stale-view window). It takes
// no lease. A missing file is an error wrapping syscall.ENOENT (so also
// fs.ErrNotExist); a file larger than the read limit (WithMaxReadSize) is
// refused with an error wrapping ErrTooLarge and syscall.EFBIG. A file that
// matches no recorded version when ctx's deadline ends the stale-view window
// early is not adopted: the error wraps ErrStaleView and
// context.DeadlineExceeded (ExitCode 3).
func (c *Coordinator) ReadFile(ctx context.Context, name string) (data []byte, err error) {
	ctx, o := c.tel.startOp(ctx, "read", name)
	defer func() { o.end(ctx, OutcomeRead, err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return nil, wrap("read", name, err)
	}
	defer done()
	key, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	o.span.SetAttributes(AttrKey.String(key))
	rec, err := c.peekRecord(key)
	if err != nil {
		return nil, err
	}
	ct, _, err := c.freshRead(ctx, key, rec, true, c.cfg.maxReadSize)
	if err != nil {
		return nil, err
	}
	if !ct.Exists {
		return nil, wrap("read", key, syscall.ENOENT)
	}
	return ct.Data, nil
}

// viewInPlace is for a read that does not hold the key's lease: in Redis mode
// it leaves a leftover in-place rewrite unsettled (writer.ViewInPlace). The
// rewriter may be alive on another host, whose flock on its backup does not
// reach this one on sshfs, FUSE or NFS with local locks; only the lease
// excludes it there. Operations holding the lease settle it.
func (c *Coordinator) viewInPlace() writer.Option {
	if c.client == nil {
		return nil
	}
	return writer.ViewInPlace()
}

// readLimit is the writer option that bounds a whole-file read made for a
// caller (WithMaxReadSize).
func (c *Coordinator) readLimit() writer.Option { return writer.MaxReadSize(c.cfg.maxReadSize) }

// fitsLimit reports whether the committed version v of a file is within
// limit (> 0), or says the file was removed: a file read over the limit is
// then a stale view (or one being replaced). A pending version does not count
// (its holder may have died before its rename), nor does a log version, whose
// file may hold more than its length.
func fitsLimit(v locking.Version, limit int64) bool {
	return v.Token != 0 && (v.Deleted || (!isLogVersion(v) && v.Size <= limit))
}

// peekRecord reads key's lock record without taking the lock; a record torn by
// a concurrent pwrite is re-read. A key without a lock file has no record yet
// (the zero Record): the file is not created, so names merely read leave
// nothing in .sharedwrite/locks.
func (c *Coordinator) peekRecord(key string) (locking.Record, error) {
	fl, err := c.locks.OpenExisting(key)
	if errors.Is(err, fs.ErrNotExist) {
		return locking.Record{}, nil
	}
	if err != nil {
		return locking.Record{}, wrap("open lock", key, err)
	}
	defer fl.Close()
	var rec locking.Record
	for i := 0; i < 5; i++ {
		if rec, err = fl.ReadRecord(); !errors.Is(err, locking.ErrCorruptRecord) {
			break
		}
		time.Sleep(time.Millisecond << i)
	}
	return rec, wrap("read record", key, err)
}

// resolve returns the key of name, a file: its canonical path relative to
// the root. A name that can only name a directory ("d/", "d/.") is refused
// (writer.ErrNotRegular): its key would be that of the file "d".
func (c *Coordinator) resolve(name string) (string, error) {
	if err := writer.DirNameError(name); err != nil {
		return "", wrap("resolve", name, err)
	}
	return c.resolveDir(name)
}

// resolveDir is resolve for a name that may name a directory (MkdirAll).
func (c *Coordinator) resolveDir(name string) (string, error) {
	if c.isClosed() {
		return "", wrap("resolve", name, ErrClosed)
	}
	key, err := c.root.Resolve(name)
	if err == nil && isMetaKey(key) {
		err = ErrMetadataName
	}
	return key, wrap("resolve", name, err)
}

// isMetaKey reports whether key lies in the volume's own metadata directory
// (config, volume-id, locks/, tx/), which no operation may name: in any
// case, as a case-insensitive volume (macOS, Windows, ext4 casefold) names
// it so too.
func isMetaKey(key string) bool {
	first, _, _ := strings.Cut(filepath.ToSlash(key), "/")
	return strings.EqualFold(first, metaDir)
}
