package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// SweepReport is what Sweep did: the writer's report on temps and in-place
// intents, and the transaction intents completed or discarded. Failed counts
// the transaction intents that could not be handled too, and a tx directory
// that could not be listed (nothing else is swept then).
type SweepReport struct {
	writer.SweepReport
	IntentsCompleted int // every target holds the transaction's version
	// IntentsPartlyCompleted: transactions completed except for targets
	// whose staged files were gone (removed outside sharedwrite before
	// their renames). Those targets keep their earlier content, and the
	// log names them; the intent is removed, as nothing can complete them.
	// Not counted in IntentsCompleted.
	IntentsPartlyCompleted int
	IntentsDiscarded       int // torn or unsound: never a commit point
	// IntentTemps: intents found still being written (under their temp name)
	// and old enough to be a dead writer's, removed.
	IntentTemps int
}

// Sweep removes orphan temps older than olderThan (writer.Sweep: temps of
// other hosts only past a much longer grace), and completes the transaction
// intents a dead holder left committed (taking their keys' leases in sorted
// order) or discards torn ones older than olderThan.
func (c *Coordinator) Sweep(ctx context.Context, olderThan time.Duration) (rep SweepReport, err error) {
	ctx, o := c.tel.startOp(ctx, "sweep", ".")
	defer func() { o.end(ctx, outcomeOf(err), err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return rep, wrap("sweep", ".", err)
	}
	defer done()
	// Intents first: their staged temps must not be swept as orphans.
	var errs []error
	entries, err := intentEntries(c.root.OS())
	if err != nil {
		// Nothing else is swept: the intents name staged temps that must
		// not be taken for orphans.
		rep.Failed++
		return rep, wrap("sweep list", txDir, err)
	}
	for _, e := range entries {
		id := e.Name()
		in, err := readIntent(c.root.OS(), id)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, ErrCorruptIntent):
			// A torn intent may be one being written right now: only old ones go.
			if fi, serr := e.Info(); serr == nil && time.Since(fi.ModTime()) >= olderThan {
				if err := removeIntent(c.root.OS(), id); err != nil {
					errs = append(errs, err)
				} else {
					rep.IntentsDiscarded++
				}
			}
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		// An intent that names no staged temps or no keys of their own was
		// never a transaction's: discarded, without taking its keys.
		discarded, err := c.discardUnsound(ctx, in)
		switch {
		case discarded && err == nil:
			rep.IntentsDiscarded++
		case err != nil:
			errs = append(errs, err)
		default:
			switch lost, err := c.sweepIntent(ctx, in); {
			case err != nil:
				errs = append(errs, err)
			case lost > 0:
				rep.IntentsPartlyCompleted++
			default:
				rep.IntentsCompleted++
			}
		}
	}
	if n, err := removeIntentTemps(c.root.OS(), olderThan); err != nil {
		errs = append(errs, err)
	} else {
		rep.IntentTemps = n
	}
	staged := &stagedTemps{r: c.root.OS()}
	wopts := []writer.Option{c.observe(ctx, o), writer.SweepKeep(staged.named)}
	if c.client != nil {
		// A leftover in-place rewrite is settled holding its key's lease:
		// a live rewriter on another host holds it, and its flock on its
		// backup may not reach this host.
		wopts = append(wopts, writer.SweepSettleWith(func(ctx context.Context, target string, settle func(context.Context) error) error {
			return c.Lock(ctx, target, func(ctx context.Context, _ LeaseInfo) error { return settle(ctx) })
		}))
	}
	wrep, err := c.root.Sweep(ctx, olderThan, wopts...)
	rep.SweepReport = wrep
	rep.Failed += len(errs) // the intents' failures; the writer counts its own
	if err != nil {
		errs = append(errs, wrap("sweep", ".", err))
	}
	return rep, errors.Join(errs...)
}

// sweepIntent takes an intent's keys (sorted) and completes it; the holders'
// floor checks do the completion (completePending) when a key's pending names
// the intent, and the fresh reads promote the renamed versions. lost is the
// number of its targets left at their earlier content because their staged
// files were gone (see completeIntentFor).
func (c *Coordinator) sweepIntent(ctx context.Context, in txIntent) (lost int, err error) {
	// The completion runs in take as often as below, and take returns
	// nothing of it: it notes its lost targets in the context.
	losses := map[string]int{}
	ctx = context.WithValue(ctx, lostTargetsKey{c}, losses)
	keys := make([]string, 0, len(in.Entries))
	for _, e := range in.Entries {
		keys = append(keys, e.Target)
	}
	slices.Sort(keys)
	// Each key once: taking one this call already holds would wait for
	// itself until the deadline (an intent from elsewhere may repeat one).
	keys = slices.Compact(keys)
	var hs []*held
	defer func() {
		for _, h := range hs {
			_ = c.release(ctx, h, nil)
		}
	}()
	for _, k := range keys {
		h, err := c.take(ctx, k)
		if err != nil {
			return 0, err
		}
		hs = append(hs, h)
	}
	// take completed it already when a key's pending names it; this covers an
	// intent whose pending records were since overwritten.
	if err := c.completeIntent(ctx, in.ID, hs...); err != nil {
		return 0, err
	}
	for _, h := range hs {
		if _, err := c.verify(ctx, h, 0); err != nil {
			return 0, err
		}
	}
	return losses[in.ID], nil
}

// lostTargetsKey is the context key under which sweepIntent collects, by
// intent ID, the targets that completions of coordinator c left at their
// earlier content because their staged files were gone (noteLostTargets).
type lostTargetsKey struct{ c *Coordinator }

// noteLostTargets records that the completion of intent id left n targets at
// their earlier content, when ctx is one of sweepIntent's.
func (c *Coordinator) noteLostTargets(ctx context.Context, id string, n int) {
	if losses, ok := ctx.Value(lostTargetsKey{c}).(map[string]int); ok {
		losses[id] += n
	}
}

// stagedTemps tells the writer's sweep which temps the transaction intents on
// the volume still name: those that could not be completed above (a key
// that could not be taken, a rename that failed) and those written since.
// Their temps are the transaction's new content, not orphans.
type stagedTemps struct {
	r      *os.Root
	listed bool
	temps  map[string]bool
	all    bool // an intent could not be read: keep every temp
}

// named reports whether an intent names temp; a temp not among those listed
// makes it list the intents again (one written meanwhile names it), so the
// intents are read at most once per orphan candidate.
func (s *stagedTemps) named(temp string) bool {
	if s.listed && (s.all || s.temps[temp]) {
		return true
	}
	s.list()
	return s.all || s.temps[temp]
}

func (s *stagedTemps) list() {
	s.listed, s.all, s.temps = true, false, map[string]bool{}
	entries, err := intentEntries(s.r)
	if err != nil {
		s.all = true
		return
	}
	for _, e := range entries {
		in, err := readIntent(s.r, e.Name())
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrCorruptIntent):
			// Gone, or torn: never a commit point; its temps are orphans.
		case err != nil:
			s.all = true
		default:
			for _, te := range in.Entries {
				s.temps[path.Clean(te.Temp)] = true
			}
		}
	}
}
