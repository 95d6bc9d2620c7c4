package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// SweepReport is what Sweep did: the writer's report on temps and in-place
// intents, and the transaction intents completed or discarded.
type SweepReport struct {
	writer.SweepReport
	IntentsCompleted int
	IntentsDiscarded int
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
		if err := c.sweepIntent(ctx, in); err != nil {
			errs = append(errs, err)
		} else {
			rep.IntentsCompleted++
		}
	}
	wrep, err := c.root.Sweep(ctx, olderThan, c.observe(ctx, o))
	rep.SweepReport = wrep
	if err != nil {
		errs = append(errs, wrap("sweep", ".", err))
	}
	return rep, errors.Join(errs...)
}

// sweepIntent takes an intent's keys (sorted) and completes it; the holders'
// floor checks do the completion (completePending) when a key's pending names
// the intent, and the fresh reads promote the renamed versions.
func (c *Coordinator) sweepIntent(ctx context.Context, in txIntent) error {
	keys := make([]string, 0, len(in.Entries))
	for _, e := range in.Entries {
		keys = append(keys, e.Target)
	}
	slices.Sort(keys)
	var hs []*held
	defer func() {
		for _, h := range hs {
			_ = c.release(ctx, h, nil)
		}
	}()
	for _, k := range keys {
		h, err := c.take(ctx, k)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	// take completed it already when a key's pending names it; this covers an
	// intent whose pending records were since overwritten.
	if err := c.completeIntent(ctx, in.ID); err != nil {
		return err
	}
	for _, h := range hs {
		if _, err := c.verify(ctx, h); err != nil {
			return err
		}
	}
	return nil
}
