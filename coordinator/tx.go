package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// TxFile is one file of a transaction.
type TxFile struct {
	Name string
	Data []byte
	Perm fs.FileMode // for a new file (minus the umask); 0 means 0644
}

// Test seams: called after the intent is written (the commit point) and after
// each rename. Nil outside tests.
var (
	txBeforeIntent func() error
	txAfterRename  func(i int)
)

type txReady struct {
	i  int
	ch writer.Change
}

type txDone struct {
	i   int
	err error
}

// Tx writes several files as one transaction, committed forward: the keys are
// taken in sorted order, every temp is written and fsynced, then one fsynced
// intent in .sharedwrite/tx/ is the commit point, then each file is renamed.
// Each key's pending record names the intent, so whoever next takes one of the
// keys after a crash completes the renames (or, when the intent is torn,
// discards it). Change events are published after the last rename (after a
// crash, by the holder that completes the transaction).
//
// Readers (ReadFile, which takes no lease, and readers outside sharedwrite)
// can see the renames one by one: some files at the new version, some at the
// old, while the renames run — and after a crash between two renames, until
// the next holder of one of the keys completes the transaction. PublishDir
// gives them a single switch. It returns nil when committed; an error before the
// commit point means nothing changed. A rename that fails after the commit
// point is retried once; if it fails again, the error says the transaction
// is committed, and the intent (with its staged temps, which Sweep keeps)
// completes it when one of the keys is next taken.
//
// Names must be valid UTF-8 (writer.ErrInvalidName otherwise: the intent is
// JSON) and name distinct files (ErrDuplicateName otherwise). No files: nil,
// nothing to commit. A target with a file bind-mounted onto it is refused before the
// commit point (writer.ErrBusyTarget): a transaction commits by rename, so
// InPlaceIfBusy does not apply. writer.CreateOnly is refused (fs.ErrInvalid)
// before the commit point, nothing changed: past it a commit is completed by
// a rename, which would replace a file created meanwhile.
func (c *Coordinator) Tx(ctx context.Context, files []TxFile, opts ...writer.Option) (err error) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	ctx, o := c.tel.startOp(ctx, "tx", strings.Join(names, ","))
	outcome := OutcomeNotCommitted
	defer func() { o.end(ctx, outcome, err) }()
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return wrap("tx", strings.Join(names, ","), err)
	}
	defer end()
	if len(files) == 0 {
		return nil
	}

	type item struct {
		file TxFile
		key  string
		h    *held
		f    *writer.File
		v    locking.Version
	}
	items := make([]*item, len(files))
	for i, f := range files {
		key, err := c.resolve(f.Name)
		if err != nil {
			return err
		}
		if !utf8.ValidString(key) {
			// The intent is JSON, which cannot carry such a name unchanged.
			return wrap("tx", key, fmt.Errorf("%w: a name in a transaction must be valid UTF-8", writer.ErrInvalidName))
		}
		items[i] = &item{file: f, key: key}
	}
	slices.SortFunc(items, func(a, b *item) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(items); i++ {
		if items[i].key == items[i-1].key {
			return wrap("tx", items[i].key, ErrDuplicateName)
		}
	}
	leave, err := c.enterGate(ctx, "")
	if err != nil {
		return wrap("queue", items[0].key, err)
	}
	defer leave()

	var hs []*held
	releaseAll := func(committed bool) {
		for _, it := range items {
			if it.h == nil {
				continue
			}
			var v *locking.Version
			if committed {
				v = &it.v
			}
			if err := c.release(ctx, it.h, v); err != nil && committed {
				c.log.WarnContext(ctx, "committed, but the release failed", "key", quote.Value(it.key), "err", err)
			}
		}
	}
	for _, it := range items {
		if it.h, err = c.take(ctx, it.key); err != nil {
			releaseAll(false)
			return err
		}
		hs = append(hs, it.h)
	}
	o.heldAll(hs)
	octx, stop := withLeases(ctx, hs...)
	defer stop()

	n := len(items)
	ready := make(chan txReady, n)
	done := make(chan txDone, n)
	proceed := make([]chan error, n)
	// Aborts go newest first: a directory an earlier file's Create made may
	// hold a later file's temp, and each Abort removes only the directories
	// its own Create made, when they are empty.
	abortAll := func(err error) error {
		for _, it := range slices.Backward(items) {
			if it.f != nil {
				_ = it.f.Abort()
			}
		}
		err = c.leaseErr(ctx, err, hs...) // before the release ends the leases
		releaseAll(false)
		return err
	}
	for i, it := range items {
		i := i
		proceed[i] = make(chan error, 1)
		asked := false
		hook := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
			if asked {
				// A second visible change for one file: an in-place rewrite
				// after its rename failed (InPlaceIfBusy). A transaction
				// commits by rename alone.
				return wrap("tx", it.key, fmt.Errorf("%w: a transaction commits by rename; no in-place rewrite: %w", writer.ErrBusyTarget, syscall.EBUSY))
			}
			asked = true
			if ch.Op == "create" {
				// CreateOnly links instead of renaming, and a link that finds
				// the target there (created outside sharedwrite since Create
				// checked) would fail past the commit point, where a failed
				// commit is completed by a plain rename over that file.
				return wrap("tx", it.key, fmt.Errorf("%w: a transaction commits by rename, which replaces; writer.CreateOnly cannot be honoured past its commit point", fs.ErrInvalid))
			}
			ready <- txReady{i: i, ch: ch}
			return <-proceed[i]
		})
		perm := it.file.Perm
		if perm == 0 {
			perm = newFilePerm
		}
		// KeepStaged: past the commit point a failed rename leaves the temp
		// for RenameStaged (here, or the next holder of the key).
		f, err := c.root.Create(octx, it.key, perm, append(c.wopts(ctx, o, nil, nil, opts), hook, writer.KeepStaged())...)
		if err != nil {
			return abortAll(wrap("tx create", it.key, err))
		}
		it.f = f
		if _, err := f.Write(it.file.Data); err != nil {
			return abortAll(wrap("tx write", it.key, err))
		}
	}

	// Every commit runs to its hook (temp fsynced, closed, final mode) and waits
	// there. Past the commit point the renames must happen even if a lease is
	// lost meanwhile, so the commits do not see octx's cancellation.
	cctx := context.WithoutCancel(octx)
	for i, it := range items {
		go func() { done <- txDone{i: i, err: it.f.Commit(cctx)} }()
	}
	changes := make([]writer.Change, n)
	waiting := make([]bool, n)
	finished := 0
	var ferr error
	cancelled := octx.Done()
	for countTrue(waiting)+finished < n {
		select {
		case r := <-ready:
			changes[r.i], waiting[r.i] = r.ch, true
		case d := <-done:
			// A commit failed before its hook (fsync, close, mode).
			finished++
			if ferr == nil {
				ferr = wrap("tx commit", items[d.i].key, d.err)
			}
		case <-cancelled:
			cancelled = nil
			if ferr == nil {
				ferr = wrap("tx", items[0].key, context.Cause(octx))
			}
		}
	}
	abortBefore := func(err error) error {
		// One at a time, newest first (see abortAll): every other commit is
		// waiting in its hook or has ended, so the next done is this one's.
		for i := range slices.Backward(items) {
			if waiting[i] {
				proceed[i] <- err
				<-done
			}
		}
		// A commit that failed before its hook removed only the directories
		// its Create made that were empty then; another file's temp may
		// have been in one, gone now.
		for _, it := range slices.Backward(items) {
			_ = it.f.Abort()
		}
		err = c.leaseErr(ctx, err, hs...) // before the release ends the leases
		releaseAll(false)
		return err
	}
	if ferr != nil {
		return abortBefore(ferr)
	}

	in := txIntent{ID: newIntentID(), Created: time.Now().UTC(), Host: c.host, PID: selfPID}
	for i, it := range items {
		ch := changes[i]
		it.v = c.newVersion(it.h, ch.SHA256, ch.Size)
		it.v.Intent = in.ID
		in.Entries = append(in.Entries, txEntry{
			Target: it.key, Temp: ch.Temp, Token: it.v.Token, LeaseID: it.v.LeaseID,
			SHA256: hex.EncodeToString(ch.SHA256[:]), Size: ch.Size,
		})
	}
	// A bind-mounted target (EBUSY) cannot be renamed over: found after the
	// commit point, it would hold the intent, and the key, for good.
	for _, it := range items {
		busy, err := c.root.Busy(it.key)
		if err == nil && busy {
			err = fmt.Errorf("%w: a transaction commits by rename: %w", writer.ErrBusyTarget, syscall.EBUSY)
		}
		if err != nil {
			return abortBefore(wrap("tx", it.key, err))
		}
	}
	for _, it := range items {
		if err := c.prepare(octx, it.h, &it.v); err != nil {
			return abortBefore(wrap("tx commit check", it.key, err))
		}
	}
	if txBeforeIntent != nil {
		if err := txBeforeIntent(); err != nil {
			return abortBefore(wrap("tx", in.ID, err))
		}
	}
	if err := octx.Err(); err != nil {
		return abortBefore(wrap("tx", items[0].key, context.Cause(octx)))
	}
	// The intent is the commit point: every lease must still have the commit
	// margin left now, not only when its floor and pending were written.
	for _, it := range items {
		if _, err := c.checkCommit(octx, it.h); err != nil {
			return abortBefore(wrap("tx commit check", it.key, err))
		}
	}
	var warn func(error)
	if c.cfg.acceptUnconf {
		warn = func(err error) {
			c.log.WarnContext(ctx, "transaction intent written; durability unconfirmed (directory fsync refused)", "intent", in.ID, "err", err)
		}
	}
	// Checked again once the intent is fsynced, right before its rename
	// makes it the commit point: a lease that ended during that fsync lets
	// another host, whose file locks do not meet ours, take the key and
	// commit, finding no intent; renaming over its version would lose it.
	recheck := func() error {
		if err := octx.Err(); err != nil {
			return wrap("tx", items[0].key, context.Cause(octx))
		}
		for _, it := range items {
			if _, err := c.checkCommit(octx, it.h); err != nil {
				return wrap("tx commit check", it.key, err)
			}
		}
		return nil
	}
	if err := writeIntentWarn(c.root.OS(), in, warn, recheck); err != nil {
		return abortBefore(err)
	}

	// Committed: rename one by one. rerr is the first rename that failed,
	// or else the first whose directory fsync was refused (renamed, durability
	// unconfirmed).
	var rerr error
	failed := false
	note := func(err error) {
		switch {
		case err == nil:
		case !errors.Is(err, writer.ErrDurabilityUnconfirmed):
			if !failed {
				rerr, failed = err, true
			}
		case rerr == nil:
			rerr = err
		}
	}
	for i := range items {
		proceed[i] <- nil
		d := <-done
		if d.err != nil && !errors.Is(d.err, writer.ErrDurabilityUnconfirmed) {
			// Retry the staged rename; what stays undone the next holder completes.
			if err := c.root.RenameStaged(cctx, changes[d.i].Temp, items[d.i].key); err != nil {
				note(wrap("tx rename", items[d.i].key, err))
			}
		} else {
			note(d.err)
		}
		if txAfterRename != nil {
			txAfterRename(i)
		}
	}
	outcome = OutcomeCommitted
	var total int64
	for _, ch := range changes {
		total += ch.Size
	}
	o.span.SetAttributes(AttrBytes.Int64(total)) // all files' (a write event sets one's)
	if failed {
		// The intent stays: the next holder of one of the keys completes it.
		releaseAll(false)
		return fmt.Errorf("%w (the transaction is committed; its intent %s completes it)", rerr, in.ID)
	}
	for _, it := range items {
		c.finish(ctx, it.h, it.v)
	}
	if err := removeIntent(c.root.OS(), in.ID); err != nil {
		c.log.WarnContext(ctx, "transaction committed; intent not removed", "intent", in.ID, "err", err)
	}
	releaseAll(true)
	if rerr != nil {
		outcome = OutcomeUnconfirmed
	}
	return rerr
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// completePending completes (or discards) the transaction a dead holder left
// pending on h's key, before anything else is done with the key.
func (c *Coordinator) completePending(ctx context.Context, h *held) error {
	p := h.rec.Pending
	if p.Intent == "" || sameVersion(p, h.rec.Committed) {
		return nil
	}
	in, err := readIntent(c.root.OS(), p.Intent)
	if err == nil && !slices.ContainsFunc(in.Entries, func(e txEntry) bool {
		return e.Target == h.key && e.Token == p.Token && e.LeaseID == p.LeaseID
	}) {
		// Not the transaction this key's pending record was written for.
		c.log.WarnContext(ctx, "pending record names a transaction intent that does not list it; not completing it",
			"key", quote.Value(h.key), "intent", quote.Value(p.Intent))
		return nil
	}
	return c.completeIntentFor(ctx, p.Intent, h.key, h)
}

// completeIntent completes intent id: renames every staged temp still there
// over its target and removes the intent. A torn intent was never the commit
// point: it is discarded (its temps are left to Sweep). A missing intent was
// completed or discarded already. The caller holds every key of the intent,
// hs (their records as taken).
func (c *Coordinator) completeIntent(ctx context.Context, id string, hs ...*held) error {
	return c.completeIntentFor(ctx, id, "", hs...)
}

// completeIntentFor is completeIntent for the holder of key ("": of every
// key the intent names). A staged temp that cannot be renamed over its target
// (another kind of file put there since) does not stop the others: the
// intent stays, to be completed once that target is fixed, and the failure
// is an error only for that target's key; for another key it is logged, and
// that key is usable (its own file completed).
//
// Once every file is renamed and the intent removed, the other keys'
// versions are stored in Redis and their change events published
// (publishCompleted), as the transaction's own release would have done; key's
// own is published by its holder's release (promoteRenamed, aheadOfRedis).
// With key "" the caller holds every key and publishes them when it releases
// them. A completion that leaves the intent publishes nothing, as a
// transaction whose rename failed.
//
// A staged temp that is not there was renamed already (by the dead holder,
// or by an earlier completion), or was removed outside sharedwrite before it
// was: its target tells which (stagedMissing). A target whose staged file is
// gone keeps its earlier content; it is logged as not completed, and the
// transaction is not logged as completed. It does not keep the intent:
// nothing can complete that target any more, and an intent kept for it would
// make every later holder of its keys, and every Sweep, try again for good.
// It is no error for its key either, whose earlier content is what its file
// and committed record hold. The other targets are completed and published
// as ever. hs are keys the caller holds, with their records as taken.
func (c *Coordinator) completeIntentFor(ctx context.Context, id, key string, hs ...*held) error {
	in, err := readIntent(c.root.OS(), id)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, ErrCorruptIntent):
		c.log.WarnContext(ctx, "discarding a torn transaction intent (never committed)", "intent", quote.Value(id), "err", err)
		if !validIntentID(id) {
			return nil // names no intent file: nothing to remove
		}
		return removeIntent(c.root.OS(), id)
	case err != nil:
		return err
	}
	if discarded, err := c.discardUnsound(ctx, in); discarded || err != nil {
		return err
	}
	var mine, others []error
	done := in
	done.Entries = nil // the entries whose targets hold their versions
	for _, e := range in.Entries {
		err := c.root.RenameStaged(ctx, e.Temp, e.Target)
		if errors.Is(err, fs.ErrNotExist) {
			var gone bool
			if gone, err = c.stagedMissing(ctx, in.ID, e, err, key, hs); gone {
				continue
			}
		}
		if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			err = wrap("tx complete", e.Target, err)
			if key == "" || e.Target == key {
				mine = append(mine, err)
			} else {
				others = append(others, err)
			}
			continue
		}
		done.Entries = append(done.Entries, e)
	}
	if len(mine)+len(others) > 0 {
		if len(others) > 0 {
			c.log.WarnContext(ctx, "a transaction a dead holder left committed is not complete: its intent stays until these targets can take their files",
				"intent", quote.Value(id), "err", errors.Join(others...))
		}
		// Nothing is published, as by a transaction whose rename failed:
		// the other keys' pending records, which name the intent, lead
		// their next holders to complete it.
		return errors.Join(mine...)
	}
	if lost := len(in.Entries) - len(done.Entries); lost > 0 {
		c.log.WarnContext(ctx, "finished a transaction a dead holder left committed, except for the targets logged as not completed (their staged files are gone); its intent is removed",
			"intent", quote.Value(id), "files", len(in.Entries), "not_completed", lost)
		c.noteLostTargets(ctx, id, lost) // for Sweep's report
	} else {
		c.log.InfoContext(ctx, "completed a transaction a dead holder left committed", "intent", id, "files", len(in.Entries))
	}
	err = removeIntent(c.root.OS(), id)
	if key != "" {
		c.publishCompleted(ctx, done, key)
	}
	return err
}

// stagedMissing tells, for intent entry e whose staged temp RenameStaged did
// not find (renameErr), whether the temp is gone without having been renamed
// over e's target, and logs it when it is (gone, nil err). A target that holds
// e's version (size, then sha256) was renamed over already; so was one whose
// key a holder has taken since the transaction (its record shows a later
// token than e's): that holder completed the target, or found its staged file
// gone, before it wrote. A temp that is still there did not make the rename
// fail (the target's directory did): renameErr is returned, a failed rename.
// The record of a key in hs is the one its holder read; another key's is
// peeked, and key's own (not in hs) is not known.
func (c *Coordinator) stagedMissing(ctx context.Context, id string, e txEntry, renameErr error, key string, hs []*held) (gone bool, err error) {
	if _, err := c.root.OS().Lstat(e.Temp); !errors.Is(err, fs.ErrNotExist) {
		return false, renameErr
	}
	holds, err := c.holdsEntry(e)
	if holds {
		return false, nil
	}
	if err != nil {
		c.log.ErrorContext(ctx, "a transaction a dead holder left committed may not be complete: a target's staged file is gone, and the target could not be read to tell whether it was renamed over it",
			"intent", quote.Value(id), "target", quote.Value(e.Target), "staged", quote.Value(e.Temp), "err", err)
		return true, nil
	}
	var rec locking.Record
	var known bool
	if i := slices.IndexFunc(hs, func(h *held) bool { return h.key == e.Target }); i >= 0 {
		rec, known = hs[i].rec, true
	} else if key != "" && e.Target != key {
		// A key the caller does not hold, peeked without its lock: a torn
		// read is retried, and a record that cannot be read counts as one
		// that shows nothing newer.
		rec, err = c.peekRecord(e.Target)
		known = err == nil
	}
	if known && max(rec.Floor.Token, rec.Pending.Token, rec.Committed.Token) > e.Token {
		return false, nil
	}
	attrs := []any{"intent", quote.Value(id), "target", quote.Value(e.Target), "staged", quote.Value(e.Temp), "token", e.Token}
	if err != nil {
		attrs = append(attrs, "record_err", err)
	}
	c.log.ErrorContext(ctx, "a transaction a dead holder left committed cannot be completed for a target: its staged file is gone and the target does not hold the transaction's version, so it keeps its earlier content", attrs...)
	return true, nil
}

// holdsEntry reports whether e's target holds the version e records: a
// regular file of e's size (checked first) and sha256. A target that is not
// there, or is not a regular file, does not.
func (c *Coordinator) holdsEntry(e txEntry) (bool, error) {
	fi, err := c.root.OS().Lstat(e.Target)
	if errors.Is(err, fs.ErrNotExist) || err == nil && (!fi.Mode().IsRegular() || fi.Size() != e.Size) {
		return false, nil
	}
	if err != nil {
		return false, wrap("tx complete check", e.Target, err)
	}
	// Opened as it was seen: not through a symlink, never blocking on a
	// FIFO put there since.
	f, err := c.root.OS().OpenFile(e.Target, os.O_RDONLY|oNofollow|oNonblock, 0)
	if err != nil {
		return false, wrap("tx complete check", e.Target, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return false, wrap("tx complete check", e.Target, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, wrap("tx complete check", e.Target, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == e.SHA256, nil
}

// discardUnsound removes intent in when it names no staged temps or no keys
// of their own (checkStaged, checkTargets): it was never a transaction's
// commit point. It reports whether it did; an error that says neither (a
// target that could not be resolved now) leaves the intent for a later try.
func (c *Coordinator) discardUnsound(ctx context.Context, in txIntent) (discarded bool, err error) {
	bad := checkStaged(in, c.cfg.tempDir)
	if bad == nil {
		bad = c.checkTargets(in)
	}
	switch {
	case bad == nil:
		return false, nil
	case !errors.Is(bad, ErrCorruptIntent):
		return false, bad
	}
	c.log.WarnContext(ctx, "discarding a transaction intent that names no staged temps", "intent", quote.Value(in.ID), "err", bad)
	return true, removeIntent(c.root.OS(), in.ID)
}

// checkTargets refuses (ErrCorruptIntent) an intent with a target that is not
// a key of its own — not a regular file, or not a valid name — or with a
// temp that is there but not a regular file (a symlink would make the rename
// move the file it points at). A target that checkStaged found sound as
// spelled but that now leads through a symlink (to another name of the
// root, into its metadata, to nothing, or out of the root) is no such sign:
// a committed transaction's target may have been replaced by a symlink after
// its holder died, and discarding its intent would leave its other files
// undone for good. RenameStaged refuses to rename over it, so the intent
// stays for that target alone, as for one that became a directory. Other
// failures are returned as they are (the intent stays for a later try).
func (c *Coordinator) checkTargets(in txIntent) error {
	for _, e := range in.Entries {
		_, err := c.resolve(e.Target)
		switch {
		case err == nil, errors.Is(err, writer.ErrOutsideRoot), errors.Is(err, ErrMetadataName):
			fi, err := c.root.OS().Lstat(e.Temp)
			switch {
			case err == nil && !fi.Mode().IsRegular():
				return fmt.Errorf("%w: temp %s is a %v, not a staged file", ErrCorruptIntent, quote.Name(e.Temp), fi.Mode().Type())
			case err == nil:
				if err := c.checkStagedContent(e, fi.Size()); err != nil {
					return err
				}
			case !errors.Is(err, fs.ErrNotExist):
				return wrap("tx intent check", e.Temp, err)
			}
			continue
		case errors.Is(err, writer.ErrInvalidName), errors.Is(err, writer.ErrNotRegular):
			return fmt.Errorf("%w: target %s is not a key of its own", ErrCorruptIntent, quote.Name(e.Target))
		default:
			return err
		}
	}
	return nil
}

// checkStagedContent refuses (ErrCorruptIntent) a staged temp of size whose
// content is not the version the intent entry e records.
func (c *Coordinator) checkStagedContent(e txEntry, size int64) error {
	if size != e.Size {
		return fmt.Errorf("%w: temp %s has %d bytes, the intent records %d", ErrCorruptIntent, quote.Name(e.Temp), size, e.Size)
	}
	f, err := c.root.OS().Open(e.Temp)
	if errors.Is(err, fs.ErrNotExist) {
		// Renamed (or removed) since it was seen: as for a temp that is
		// not there, no verdict on this entry.
		return nil
	}
	if err != nil {
		return wrap("tx intent check", e.Temp, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return wrap("tx intent check", e.Temp, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return fmt.Errorf("%w: temp %s has sha256 %s, the intent records %s", ErrCorruptIntent, quote.Name(e.Temp), got, e.SHA256)
	}
	return nil
}

// completeIntentsOf completes every transaction intent that lists key: for a
// key whose pending record is lost, what completePending does from it. Under
// key's lease no live transaction holds key, so an intent listing it was left
// by a dead holder.
func (c *Coordinator) completeIntentsOf(ctx context.Context, key string) error {
	entries, err := intentEntries(c.root.OS())
	if err != nil {
		return wrap("tx list", txDir, err)
	}
	for _, e := range entries {
		in, err := readIntent(c.root.OS(), e.Name())
		if err != nil || !slices.ContainsFunc(in.Entries, func(te txEntry) bool { return te.Target == key }) {
			continue // gone, torn (never a commit point), or another key's
		}
		if err := c.completeIntentFor(ctx, in.ID, key); err != nil {
			return err
		}
	}
	return nil
}
