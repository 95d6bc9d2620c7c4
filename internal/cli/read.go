package cli

import (
	"context"
	"fmt"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type readOpts struct{ name string }

func newReadCmd(g *globals) *cobra.Command {
	o := &readOpts{}
	return &cobra.Command{
		Use:   "read NAME",
		Short: "Print NAME's content as last committed, verified against its lock record",
		Long: `read prints the content of NAME to stdout, checked against the volume's lock
record: a version some replica committed, never a torn file. A host whose
view of the volume lags (an NFS or sshfs attribute cache) is re-read until it
shows a recorded version, within the stale-view window and --timeout. A
file that still matches no recorded version was edited outside sharedwrite:
it is printed as it is, with a warning. Of an appended log, only the
committed length is printed. It takes no lease and waits for no writer; the
whole file is read into memory before it is printed, so a file larger than
--max-read-size is refused (exit 1).`,
		Example: `  sharedwrite read config.json > /etc/app/config.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runRead(cmd.Context(), g, o)
		},
	}
}

func runRead(ctx context.Context, g *globals, o *readOpts) error {
	return g.withExistingVolume(ctx, "read "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		data, err := v.ReadFile(ctx, o.name)
		if err != nil {
			return err
		}
		if _, err := g.stdout.Write(data); err != nil {
			return fmt.Errorf("read %s: write to stdout: %w", quote.Name(o.name), err)
		}
		return nil
	})
}
