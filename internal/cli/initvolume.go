package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

type initVolumeOpts struct{}

func newInitVolumeCmd(g *globals) *cobra.Command {
	o := &initVolumeOpts{}
	return &cobra.Command{
		Use:   "init-volume",
		Short: "Initialise the volume once for Redis mode (volume id and mode)",
		Long: `init-volume publishes .sharedwrite/volume-id and .sharedwrite/config on the
root. Redis mode refuses to work on a volume without them (exit 5), so that a
missing mount (an empty directory where the volume should be) never forks the
key space. Running it again on an initialised volume changes nothing.`,
		Example: `  SHAREDWRITE_REDIS=redis://redis:6379 sharedwrite --root /data init-volume`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInitVolume(cmd.Context(), g, o)
		},
	}
}

func runInitVolume(ctx context.Context, g *globals, _ *initVolumeOpts) error {
	ctx, cancel := g.bounded(ctx)
	defer cancel()
	// Bounded also on a volume that does not answer (see withVolume).
	calls := &volumeCalls{timeout: g.timeout}
	id, err := volumeCall(ctx, calls, func() (string, error) { return initVolume(ctx, g) })
	if errors.Is(err, errNoAnswer) {
		return fmt.Errorf("init-volume %s: %w", quote.Name(g.root), err)
	}
	if err != nil {
		return err
	}
	return g.printf("init-volume "+quote.Name(g.root), "volume %s initialised (id %s)\n", quote.Name(g.root), id)
}
