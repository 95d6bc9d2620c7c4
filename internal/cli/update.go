package cli

import (
	"context"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type updateOpts struct {
	name string
	argv []string
}

func newUpdateCmd(g *globals) *cobra.Command {
	o := &updateOpts{}
	return &cobra.Command{
		Use:   "update NAME -- CMD [ARG...]",
		Short: "Read-modify-write NAME: CMD gets the current content on stdin, its stdout is the new content",
		Long: `update holds NAME's lease and lock, runs CMD with the current content on stdin
(empty when NAME does not exist) and commits CMD's stdout as the new content.
When CMD exits non-zero nothing is written and update exits 8.`,
		Example: `  sharedwrite update counter -- sh -c 'read n; echo $((${n:-0}+1))'`,
		Args: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			if len(before) != 1 || len(after) == 0 {
				return usagef("update takes NAME -- CMD [ARG...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			o.name, o.argv = before[0], after
			return runUpdate(cmd.Context(), g, o)
		},
	}
}

func runUpdate(ctx context.Context, g *globals, o *updateOpts) error {
	return g.withVolume(ctx, "update "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		// The command runs under the operation's context: the lease's loss
		// stops it at once.
		return v.Update(ctx, o.name, func(ctx context.Context, old []byte, _ bool) ([]byte, error) {
			acquired()
			return g.runFilter(ctx, o.name, o.argv, old)
		})
	})
}
