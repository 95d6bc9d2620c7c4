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
		Use:   "rm NAME",
		Short: "Remove NAME under its lease (a fenced, recorded deletion)",
		Long: `rm removes NAME under its lease and lock; the lock record then says deleted,
and watchers see the removal. As every command, it acts on the file NAME
stands for: when NAME is a symlink inside the root, its target is removed and
the link stays, dangling (commands then refuse it, exit 5).`,
		Example: `  sharedwrite rm locks/old-job`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runRm(cmd.Context(), g, o)
		},
	}
}

func runRm(ctx context.Context, g *globals, o *rmOpts) error {
	return g.withExistingVolume(ctx, "rm "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		return v.Remove(ctx, o.name)
	})
}
