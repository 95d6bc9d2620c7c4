package cli

import (
	"context"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type cleanOpts struct {
	olderThan time.Duration
}

func newCleanCmd(g *globals) *cobra.Command {
	o := &cleanOpts{}
	cmd := &cobra.Command{
		Use:   "clean [--older-than D]",
		Short: "Remove orphaned temp files and complete or discard leftover intents",
		Long: `clean sweeps the root: temps of this host that no live writer holds and that
are older than --older-than, temps of other hosts only past a much longer grace
(their locks are invisible from here on sshfs and FUSE mounts), and leftover
transaction intents. Lock files are never removed.`,
		Example: `  sharedwrite clean --older-than 1h`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClean(cmd.Context(), g, o)
		},
	}
	cmd.Flags().DurationVar(&o.olderThan, "older-than", 10*time.Minute, "grace period for this host's orphaned temps")
	return cmd
}

func runClean(ctx context.Context, g *globals, o *cleanOpts) error {
	if o.olderThan < 0 {
		return usagef("--older-than %v: must not be negative", o.olderThan)
	}
	return g.withExistingVolume(ctx, "clean "+quote.Name(g.root), func(ctx context.Context, v *volume, _ func()) error {
		rep, err := v.Sweep(ctx, o.olderThan)
		what := "clean " + quote.Name(g.root)
		perr := g.printf(what, "scanned %d, removed %d orphan temps (kept %d live, %d young, of them %d of other hosts); in-place rewrites: %d restored, %d completed, %d discarded; intents: %d completed, %d partly completed, %d discarded, %d unfinished removed; %d failed\n",
			rep.Scanned, rep.Removed, rep.Live, rep.Young, rep.OtherHost, rep.Restored, rep.Completed, rep.Discarded,
			rep.IntentsCompleted, rep.IntentsPartlyCompleted, rep.IntentsDiscarded, rep.IntentTemps, rep.Failed)
		if n := rep.IntentsPartlyCompleted; n > 0 && perr == nil {
			perr = g.printf(what, "transactions completed only in part: %d; files whose staged files were gone (removed before their renames) kept their earlier content, as the log says for each\n", n)
		}
		if err != nil {
			return err
		}
		return perr
	})
}
