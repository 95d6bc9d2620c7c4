package cli

import (
	"context"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type rmOpts struct{ name string }

func newRmCmd(g *globals) *cobra.Command {
	o := &rmOpts{}
	return &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove NAME under its lease (a fenced, recorded deletion)",
		Example: `  sharedwrite rm locks/old-job`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runRm(cmd.Context(), g, o)
		},
	}
}

func runRm(ctx context.Context, g *globals, o *rmOpts) error {
	return g.withVolume(ctx, "rm "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		return v.Remove(ctx, o.name)
	})
}
