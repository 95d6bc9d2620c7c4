package cli

import (
	"context"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type moveOpts struct {
	src, dst string
}

func newMoveCmd(g *globals) *cobra.Command {
	o := &moveOpts{}
	return &cobra.Command{
		Use:   "move SRC DST",
		Short: "Move the file SRC (yours, may be outside the root) to DST in the root",
		Long: `move renames SRC to DST under DST's lease. SRC is the caller's own file (a path
relative to the current directory, or absolute) and may lie outside the root;
DST is relative to the root. Across devices it copies into a temp beside DST,
commits, and unlinks SRC only if it did not change meanwhile.`,
		Example: `  sharedwrite move /var/spool/out/report.csv reports/2024-05.csv`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src, o.dst = args[0], args[1]
			return runMove(cmd.Context(), g, o)
		},
	}
}

func runMove(ctx context.Context, g *globals, o *moveOpts) error {
	return g.withVolume(ctx, "move "+quote.Name(o.src)+" to "+quote.Name(o.dst), func(ctx context.Context, v *volume, _ func()) error {
		return v.Move(ctx, o.src, o.dst)
	})
}
