package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"syscall"

	"go.opentelemetry.io/otel/trace"

	"github.com/sharedwrite/sharedwrite/internal/durable"
	"github.com/sharedwrite/sharedwrite/internal/errno"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// commit writes data as one batch under the key's lease and lock, rotating
// first when RotateAtSize says so.
func (a *Appender) commit(ctx context.Context, take func() []byte) error {
	var rot *rotation
	err := a.c.run(ctx, "append", a.name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		st, err := a.c.logState(ctx, h)
		if err != nil {
			return nil, err
		}
		data := take()
		if data == nil {
			return nil, nil // every record withdrawn by its caller meanwhile
		}
		if a.cfg.rotateAt > 0 && st.Length >= a.cfg.rotateAt {
			if err := checkRotatable(h.key); err != nil {
				// Appends go on; the log grows past RotateAtSize.
				if !a.unrotatable {
					a.unrotatable = true
					a.c.log.WarnContext(ctx, "not rotating at the size limit", "key", quote.Value(h.key), "err", err)
				}
				return a.c.appendHeld(ctx, h, &a.file, st, data, a.cfg.perm)
			}
			r, v, rerr := a.c.rotateHeld(ctx, h, o, st)
			if rerr != nil && !errors.Is(rerr, writer.ErrDurabilityUnconfirmed) {
				return nil, rerr
			}
			if v != nil {
				// Also when the directory fsync was refused: the new live
				// file is at the name, and the batch goes there. The
				// batch's outcome then carries the rotation's unconfirmed
				// durability (the records are in a file whose name may
				// not survive a crash).
				a.c.finish(ctx, h, *v)
				st, rot = *v, r
			}
			av, err := a.c.appendHeld(ctx, h, &a.file, st, data, a.cfg.perm)
			if err != nil {
				return nil, err
			}
			return av, rerr
		}
		return a.c.appendHeld(ctx, h, &a.file, st, data, a.cfg.perm)
	})
	if rot != nil {
		// The compression and pruning run on after the append; the
		// coordinator's Close ends them (the rotated file may stay plain, as
		// after a crash) and waits for them.
		if pctx, done, err := a.c.begin(a.ctx); err == nil {
			a.post.Add(1)
			go func() {
				defer a.post.Done()
				defer done()
				if _, err := a.c.afterRotate(pctx, rot, a.cfg); err != nil {
					a.c.log.WarnContext(pctx, "after a size-based rotation", "key", quote.Value(rot.key), "err", err)
				}
			}()
		}
	}
	return err
}

// appendHeld writes data at the committed length st.Length of the held key
// and records the new length. The commit point is the fsynced pending record,
// written only after the data is fsynced: a holder that dies before it leaves
// a tail that the next append truncates; one that dies after it leaves a
// pending version the next holder promotes (its data is on disk).
func (c *Coordinator) appendHeld(ctx context.Context, h *held, lf **logFile, st locking.Version, data []byte, perm logPerm) (*locking.Version, error) {
	made, err := c.openLogMade(ctx, h.key, lf, st.Generation, perm)
	if err != nil {
		return nil, err
	}
	f, at, err := c.liveLog(ctx, h.key, lf, st, perm)
	if err != nil {
		return nil, err
	}
	if made.file && at != 0 {
		// This call made the file (O_EXCL): it is empty, whatever length
		// the record or this host's cached view of the removed log gave
		// (removed by another host, or outside sharedwrite). Appending at
		// that length would put zeros before the batch.
		c.log.WarnContext(ctx, "the log was gone and is made anew; appending at its start", "key", quote.Value(h.key), "length_expected", at)
		at = 0
	}
	if st.Token == 0 {
		// The key's first batch (no committed version: a new log, one made
		// outside sharedwrite, one removed): its starting length is
		// committed first. A batch that then dies or fails before its own
		// commit point leaves that length for the next batch to cut back
		// to; without it the next batch took the file's size, keeping the
		// unacknowledged (even torn) records.
		base := c.newVersion(h, [32]byte{}, at)
		base.Generation = st.Generation
		if err := c.prepare(ctx, h, &base); err != nil {
			// Nothing of the batch is written yet: it is not committed,
			// also when the starting length stays pending (undoPrepare
			// could not withdraw it), which the next holder commits and
			// which names none of the batch's records. The error must
			// not say the outcome is unknown, or a caller that then does
			// not retry loses the records.
			err = wrap("commit the starting length", h.key, err)
			if withdrawn, uerr := c.undoPrepare(ctx, h, base, err); !withdrawn {
				c.log.WarnContext(ctx, "the log's starting length may stay pending for the next holder to commit; the batch was not written", "key", quote.Value(h.key), "err", uerr)
			} else {
				// Nothing names the log: the file and the directories
				// made for it go, as a failed write's temp and
				// directories do (a full volume must not leave an empty
				// log behind a batch reported not committed).
				c.unmakeLog(ctx, h.key, lf, made)
			}
			return nil, err
		}
		c.finish(ctx, h, base)
	}
	// The fence, the validity and the generation, checked as the last step
	// before the truncate and the pwrite (nothing slow in between): no batch
	// goes to a file that a rotation has replaced, and a holder that lost its
	// lease does not cut another holder's acknowledged records. Where file
	// locks do not reach other hosts, a holder paused between this check and
	// the pwrite can still write once: the same residual window as a rename
	// (README, "The residual window").
	rec, err := c.checkCommit(ctx, h)
	if err != nil {
		return nil, wrap("append check", h.key, err)
	}
	if rec.Committed.Generation != st.Generation {
		return nil, wrap("append check", h.key, fmt.Errorf("%w: rotation generation %d on the volume; this holder expected %d",
			locking.ErrFenced, rec.Committed.Generation, st.Generation))
	}
	// Drop an unacknowledged tail. Always, not only when fstat shows one: a
	// network filesystem's cached size can be stale.
	trace.SpanFromContext(ctx).SetAttributes(AttrBytes.Int(len(data)))
	_, span := c.tel.step(ctx, "write", AttrKey.String(h.key), AttrBytes.Int(len(data)))
	err = f.Truncate(at)
	if err != nil {
		err = wrap("truncate", h.key, err)
	} else if _, err = f.WriteAt(data, at); err != nil {
		err = wrap("pwrite", h.key, err)
	}
	endStep(span, err)
	if err != nil {
		return nil, c.cutUnnamed(ctx, h, f, at, err)
	}
	_, span = c.tel.step(ctx, "fsync", AttrKey.String(h.key))
	err = durable.SyncData(f)
	endStep(span, err)
	if err != nil {
		return nil, c.cutUnnamed(ctx, h, f, at, wrap("fsync", h.key, err))
	}
	if err := context.Cause(ctx); err != nil {
		return nil, c.cutUnnamed(ctx, h, f, at, wrap("append", h.key, err))
	}
	v := c.newVersion(h, [32]byte{}, at+int64(len(data)))
	v.Generation = st.Generation
	if err := c.prepareBatch(ctx, h, &v); err != nil {
		// The pending version may be in the record (its fsync failed): set
		// it back, or the next batch promotes it and the caller's retry
		// writes the batch twice. The data is cut only once the record no
		// longer names it (a pending version whose data is gone must never
		// be promoted), and only under the commit check, as the truncate
		// before the pwrite: a holder that lost its lease must not cut
		// another holder's records. Neither is done when another holder
		// has taken the key since the pending write, which may have
		// committed v (overtakenPending).
		if oerr := c.overtakenPending(h, v, err); oerr != nil {
			return nil, errors.Join(wrap("commit", h.key, err), oerr)
		}
		withdrawn, err := c.undoPrepare(ctx, h, v, wrap("commit", h.key, err))
		if withdrawn {
			err = c.cutUnnamed(ctx, h, f, at, err)
		}
		return nil, err
	}
	return &v, nil
}

// overtakenPending returns an error wrapping ErrOutcomeUnknown when the
// batch v's floor and pending write failed (err) once it may have reached
// the lock record (the write itself failed, or its fsync), and the record's
// floor shows that another holder has taken the key since. That holder may
// have found v pending and committed it (its data was fsynced before), or
// taken the key before v's write reached the record and appended over v's
// data: the record, which names neither any more, cannot tell which, so it
// must not be read as v withdrawn (the caller would append the records
// again). Nil otherwise, also when the record does not read back.
func (c *Coordinator) overtakenPending(h *held, v locking.Version, err error) error {
	var lerr *locking.Error
	if !errors.As(err, &lerr) || lerr.Op != "write floor/pending" && lerr.Op != "fsync record" {
		return nil // failed before writing (the commit check): nothing of v reached the record
	}
	rec, rerr := h.fl.ReadRecord()
	if rerr != nil {
		return nil
	}
	f := rec.Floor
	if f.Bars(v.Token, v.LeaseID) {
		return wrap("commit", h.key, fmt.Errorf("%w: another holder has taken the key since the batch's pending version was written (floor token %d, the batch's %d), and may have committed it",
			ErrOutcomeUnknown, f.Token, v.Token))
	}
	return nil
}

// cutUnnamed truncates the log back to the committed length at after a
// batch failed (err) with no pending version naming its bytes, so that
// readers outside sharedwrite (tail -f, a log shipper) do not keep a partial
// record until the next batch cuts it. Only under the commit check, as the
// truncate before the pwrite: a holder that lost its lease must not cut
// another holder's records. A truncate that fails is logged; err is returned
// as it was.
func (c *Coordinator) cutUnnamed(ctx context.Context, h *held, f *os.File, at int64, err error) error {
	if _, cerr := c.checkCommit(ctx, h); cerr == nil {
		if cerr = cutLog(f, h.key, at); cerr != nil {
			c.log.WarnContext(ctx, "failed batch; its bytes stay past the committed length until the next batch truncates them", "key", quote.Value(h.key), "err", cerr)
		}
	}
	return err
}

// liveLog returns the live file to append to and the offset to write at:
// the committed length st.Length. On a filesystem whose caches are coherent
// (stale-view window 0) it first checks that the name still leads to the
// file open and that the file holds at least that length: a log truncated,
// removed or replaced outside sharedwrite (by a program, by hand, by another
// rotation tool) would otherwise get zero bytes up to the committed length,
// or records acknowledged into an unlinked file. Such a log is adopted as it
// is, with a warning: opened anew by name (created when missing) and
// appended to at its end. Under Strict it is an error wrapping ErrStaleView
// instead.
func (c *Coordinator) liveLog(ctx context.Context, key string, lf **logFile, st locking.Version, perm logPerm) (*os.File, int64, error) {
	f := (*lf).f
	if c.staleWindow > 0 {
		// A network or FUSE filesystem: the size and inode this host sees
		// may lag behind another host's appends (the record does not), and
		// acting on them would overwrite that host's records. The record's
		// length is trusted there, as before.
		return f, st.Length, nil
	}
	ofi, err := f.Stat()
	if err != nil {
		return nil, 0, wrap("fstat", key, err)
	}
	nfi, nerr := c.root.OS().Lstat(key)
	if nerr != nil && !errors.Is(nerr, fs.ErrNotExist) {
		return nil, 0, wrap("stat", key, nerr)
	}
	named := nerr == nil && os.SameFile(ofi, nfi)
	if named && ofi.Size() >= st.Length {
		return f, st.Length, nil
	}
	what := fmt.Sprintf("the log holds %d bytes, fewer than its committed length %d", ofi.Size(), st.Length)
	if !named {
		what = "the log's name no longer leads to the file this appender has open (removed or replaced)"
	}
	if c.cfg.strict {
		return nil, 0, wrap("append check", key, fmt.Errorf("%w: %s: changed outside sharedwrite", writer.ErrStaleView, what))
	}
	(*lf).close()
	*lf = nil
	if f, err = c.openLog(ctx, key, lf, st.Generation, perm); err != nil {
		return nil, 0, err
	}
	if ofi, err = f.Stat(); err != nil {
		return nil, 0, wrap("fstat", key, err)
	}
	c.log.WarnContext(ctx, "log changed outside sharedwrite; appending at its end", "key", quote.Value(key),
		"reason", what, "committed_length", st.Length, "size", ofi.Size())
	return f, ofi.Size(), nil
}

// cutLog truncates the live file f of key back to the committed length n and
// fsyncs it.
func cutLog(f *os.File, key string, n int64) error {
	if err := f.Truncate(n); err != nil {
		return wrap("truncate a failed batch", key, err)
	}
	if err := durable.SyncData(f); err != nil {
		return wrap("fsync after truncating a failed batch", key, err)
	}
	return nil
}

// undoPrepare undoes a prepare of v by h that failed with err. When the lock
// record may show v pending — its pwrite reached the file and its fsync
// failed, or the record no longer reads back — pending is set back to the
// committed version and fsynced (withdrawPending), so that no later holder
// promotes or completes v. It reports whether the record is known not to
// name v (withdrawn: v never reached it, or was withdrawn), and returns err,
// or, when v may still be pending, err joined with an error wrapping
// ErrOutcomeUnknown. A lost lease leaves the record alone: another holder may
// be writing it by now.
func (c *Coordinator) undoPrepare(ctx context.Context, h *held, v locking.Version, err error) (withdrawn bool, _ error) {
	rec, rerr := h.fl.ReadRecord()
	if rerr == nil && !sameLog(rec.Pending, v) {
		return true, err
	}
	if lerr := h.lease.Err(); lerr != nil {
		return false, errors.Join(err, wrap("withdraw pending", h.key, fmt.Errorf("%w: lease lost: %w", ErrOutcomeUnknown, lerr)))
	}
	if werr := c.withdrawPending(h); werr != nil {
		return false, errors.Join(err, fmt.Errorf("%w: %w", ErrOutcomeUnknown, werr))
	}
	c.log.InfoContext(ctx, "withdrew a pending version whose commit failed", "key", quote.Value(h.key), "token", v.Token)
	return true, err
}

// madeLog is what openLog made for a log that was missing: the file
// (created with O_EXCL by this call) and the directories it was missing,
// oldest first.
type madeLog struct {
	file bool
	dirs []string
}

// openLog returns the live file opened under generation gen, reopening it
// when a rotation has moved the name to a new file since it was opened (the
// generation is compared, not inodes: sshfs has none and NFS caches them).
func (c *Coordinator) openLog(ctx context.Context, key string, lf **logFile, gen uint64, perm logPerm) (*os.File, error) {
	if _, err := c.openLogMade(ctx, key, lf, gen, perm); err != nil {
		return nil, err
	}
	return (*lf).f, nil
}

// openLogMade is openLog that also says what it made.
func (c *Coordinator) openLogMade(ctx context.Context, key string, lf **logFile, gen uint64, perm logPerm) (madeLog, error) {
	if l := *lf; l != nil && l.f != nil && l.gen == gen {
		return madeLog{}, nil
	}
	(*lf).close()
	r := c.root.OS()
	exists, err := c.regularOrAbsent("open", key)
	if err != nil {
		return madeLog{}, err
	}
	created := !exists
	var made madeLog
	mkdir := func() error {
		dir := path.Dir(key)
		if dir == "." {
			return nil
		}
		made.dirs = nil
		for d := dir; d != "."; d = path.Dir(d) {
			if _, err := r.Lstat(d); err == nil {
				break
			}
			made.dirs = append([]string{d}, made.dirs...)
		}
		// 0777 less the umask, as the directories a write creates;
		// a refused directory fsync accepted as a write's is.
		if err := c.root.MkdirAll(ctx, dir, 0o777, c.logWopts(ctx, nil)...); err != nil {
			if errors.Is(err, writer.ErrDurabilityUnconfirmed) {
				// Not the batch's "committed, durability
				// unconfirmed": nothing of it is written.
				err = fmt.Errorf("the new directory's fsync failed; nothing appended: %w", errnoOf(err))
			}
			return wrap("mkdir", dir, err)
		}
		return nil
	}
	if created {
		if err := mkdir(); err != nil {
			return madeLog{}, err
		}
	}
	// Not blocking on a FIFO put there since the check above. os.Root
	// follows a symlink that stays in the root even with O_NOFOLLOW, except
	// when creating with O_EXCL: a missing log is created so and a log found
	// is opened without O_CREATE, so that a symlink put at the name since the
	// check makes no file at its target. A log made or removed since then
	// (by another rotation tool) gets the other open. The file open must be
	// the one key names (openedIsNamed): a symlink put there is refused; a
	// file renamed over the name since the open (another rotation tool) is
	// opened in its turn, once.
	open := func() (*os.File, error) {
		var f *os.File
		var err error
		for retried := false; ; retried = true {
			flag := os.O_WRONLY | oNonblock
			if created {
				flag |= os.O_CREATE | os.O_EXCL
			}
			f, err = r.OpenFile(key, flag, perm.mode)
			if retried || !errors.Is(err, fs.ErrExist) && !errors.Is(err, fs.ErrNotExist) {
				break
			}
			created = !created
		}
		if err != nil {
			return nil, err
		}
		if err := openedIsNamedRegular(r, key, f); err != nil {
			f.Close() //nolint:errcheck // nothing written
			return nil, err
		}
		return f, nil
	}
	f, err := open()
	if errors.Is(err, errNameMoved) {
		f, err = open()
	}
	if errors.Is(err, fs.ErrNotExist) && path.Dir(key) != "." {
		// The directory went since it was made or found: another
		// appender's undo removed it (it was empty then). Made again.
		created = true
		if err = mkdir(); err == nil {
			f, err = open()
		}
	}
	if err != nil {
		return madeLog{}, wrap("open", key, err)
	}
	if err == nil && created && perm.exact {
		err = f.Chmod(perm.mode)
	}
	if err == nil && created {
		// The new name must survive a crash with the records in it. A
		// refusal (errno.IsSyncRefusal) is a warning under
		// AcceptUnconfirmedDurability, as for the writer's commits.
		err = syncDir(r, path.Dir(key))
		if err != nil && c.cfg.acceptUnconf && errno.IsSyncRefusal(err) {
			c.log.WarnContext(ctx, "log created; durability unconfirmed (directory fsync refused)", "key", quote.Value(key), "err", err)
			err = nil
		}
	}
	if err != nil {
		f.Close() //nolint:errcheck // nothing written
		return madeLog{}, wrap("open", key, err)
	}
	*lf = &logFile{f: f, gen: gen}
	made.file = created
	return made, nil
}

// unmakeLog removes what openLog made for the held key's log (made), once a
// first batch failed with nothing in the record naming the log: the file,
// only while it is still the empty file open in *lf, then the directories
// made for it, newest first, only while empty. What cannot be removed stays
// (logged): an empty log is what a batch committing its starting length
// leaves anyway.
func (c *Coordinator) unmakeLog(ctx context.Context, key string, lf **logFile, made madeLog) {
	if !made.file || *lf == nil || (*lf).f == nil {
		return
	}
	r := c.root.OS()
	f := (*lf).f
	ofi, err := f.Stat()
	(*lf).close()
	*lf = nil
	if err != nil {
		return
	}
	if nfi, err := r.Lstat(key); err != nil || !os.SameFile(ofi, nfi) || nfi.Size() != 0 {
		return
	}
	if err := r.Remove(key); err != nil {
		c.log.WarnContext(ctx, "the empty log made for a failed first batch stays", "key", quote.Value(key), "err", err)
		return
	}
	for _, d := range slices.Backward(made.dirs) {
		fi, err := r.Lstat(d)
		if err != nil || !fi.IsDir() || r.Remove(d) != nil {
			break // not empty (another log is being made there), or not ours
		}
	}
	parent := path.Dir(key)
	if len(made.dirs) > 0 {
		parent = path.Dir(made.dirs[0])
	}
	_ = syncDir(r, parent) // best effort: the removal needs no durability
}

// sameLog reports whether a and b are the same version of an appended file.
func sameLog(a, b locking.Version) bool {
	return sameVersion(a, b) && a.Length == b.Length && a.Generation == b.Generation
}

// logState returns the committed state (length, generation) of the held log
// key, completing what a dead holder left pending: an append's pending version
// is promoted, and a rotation's is completed (completeRotation: forward, or
// withdrawn when it never began its visible change). A key without a record,
// or whose committed version is a removal, adopts the file's current size.
//
// Promoting an append's pending version is sound because of how appendHeld
// leaves one: it writes it only after the batch's data is fsynced, and when
// the batch then fails it withdraws it before cutting the data, or, when it
// cannot, keeps the data and reports ErrOutcomeUnknown. So a pending version
// found here has its data on disk and its writer either died (no answer
// given), acknowledged it (its committed write failed after the commit), or
// said the outcome is unknown; the record cannot tell these apart, and each
// of them allows the promotion, the acknowledged one requires it.
func (c *Coordinator) logState(ctx context.Context, h *held) (locking.Version, error) {
	cm, p := h.rec.Committed, h.rec.Pending
	if p.Token != 0 && !sameLog(p, cm) {
		if p.SHA256 != ([32]byte{}) || p.Deleted {
			// A whole-file write (WriteFile, Update) died before its record
			// update: the fresh read promotes it if its rename happened.
			ct, err := c.verify(ctx, h, 0)
			if err != nil {
				return cm, err
			}
			st := h.rec.Committed
			st.Length = ct.Size
			if st.Deleted {
				// Removed: no version names the file's bytes, and the
				// first batch commits its starting length (as below).
				st = locking.Version{Length: ct.Size, Generation: st.Generation}
			}
			return st, nil
		}
		rotation := p.Generation > cm.Generation && p.Length == 0
		if rotation {
			err := c.completeRotation(ctx, h, p)
			if errors.Is(err, errRotationWithdrawn) {
				return c.logState(ctx, h)
			}
			if err != nil {
				return cm, err
			}
		}
		c.log.InfoContext(ctx, "promoting a dead holder's pending append or rotation", "key", quote.Value(h.key), "token", p.Token, "length", p.Length, "generation", p.Generation)
		if err := h.fl.WriteCommitted(p); err != nil {
			return cm, wrap("promote pending", h.key, err)
		}
		h.rec.Committed = p
		if rotation {
			c.dropCommittedMarker(ctx, h, rotatedName(h.key, p.Time, p.Token))
		}
		return p, nil
	}
	if cm.Token != 0 && !cm.Deleted {
		return cm, nil
	}
	// No record, or a removal's: a file at the name was made outside
	// sharedwrite since (a first batch commits its starting length before
	// writing), and is adopted as it is, not cut as a tail.
	var gen uint64
	if cm.Token != 0 {
		gen = cm.Generation
	}
	fi, err := c.root.OS().Stat(h.key)
	if errors.Is(err, fs.ErrNotExist) {
		return locking.Version{Generation: gen}, nil
	}
	if err != nil {
		return locking.Version{}, wrap("stat", h.key, err)
	}
	return locking.Version{Length: fi.Size(), Generation: gen}, nil
}

// regularOrAbsent reports whether a regular file is at key, and refuses
// anything else there (writer.ErrNotRegular naming its type, the step op): a
// directory, or a FIFO, which an open for appending or copying would block
// on, holding the key's lock.
func (c *Coordinator) regularOrAbsent(op, key string) (bool, error) {
	fi, err := c.root.OS().Lstat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, wrap("stat", key, err)
	case !fi.Mode().IsRegular():
		return false, wrap(op, key, writer.NotRegularError(fi.Mode()))
	}
	return true, nil
}

// errnoOf returns the errno err wraps, or, when it wraps none, an error of
// err's text alone (wrapping nothing).
func errnoOf(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return errors.New(err.Error())
}
