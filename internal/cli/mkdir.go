package cli

import (
	"context"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type mkdirOpts struct {
	name string
	mode string
}

func newMkdirCmd(g *globals) *cobra.Command {
	o := &mkdirOpts{}
	cmd := &cobra.Command{
		Use:     "mkdir NAME [--mode MODE]",
		Short:   "Create directory NAME and its missing parents",
		Example: `  sharedwrite mkdir spool/incoming --mode 0750`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runMkdir(cmd.Context(), g, o, cmd.Flags().Changed("mode"))
		},
	}
	cmd.Flags().StringVar(&o.mode, "mode", "0777", "permission of the created directories, less the umask (as mkdir(1), and as the parents write and append create); given explicitly, exactly that (the parents also get owner write and search)")
	return cmd
}

func runMkdir(ctx context.Context, g *globals, o *mkdirOpts, exact bool) error {
	perm, err := parseMode(o.mode)
	if err != nil {
		return err
	}
	return g.withVolume(ctx, "mkdir "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		return v.MkdirAll(ctx, o.name, perm, exact)
	})
}
