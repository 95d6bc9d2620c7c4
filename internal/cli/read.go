package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

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
	if err := g.existingRoot(ctx, "read "+quote.Name(o.name)); err != nil {
		return err
	}
	return g.withVolume(ctx, "read "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
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

// existingRoot refuses a --root that does not exist (exit 5, ENOENT) for the
// commands that create no file: read, watch, rm, rotate, clean,
// repair-record. In local mode, opening the volume creates a missing root
// (see openVolume), so a mistyped --root, or a volume that is not mounted,
// would become a new, empty directory, and those commands would answer about
// nothing (rotate, clean and repair-record with exit 0; watch for ever).
// Redis mode never creates the root:
// its open refuses it. The stat is a call on the volume (see volumeCalls),
// bounded by --timeout: a volume that does not answer fails it as it would
// fail the open.
func (g *globals) existingRoot(ctx context.Context, what string) error {
	if g.redisURL != "" {
		return nil
	}
	bctx, cancel := g.bounded(ctx)
	defer cancel()
	err := new(volumeCalls).do(bctx, func() error {
		_, err := os.Stat(g.root)
		return err
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the root is named below
		}
		return volumeError{fmt.Errorf("%s: open root %s: %w", what, quote.Name(g.root), err)}
	case errors.Is(err, errNoAnswer):
		return fmt.Errorf("%s: %w", what, err)
	}
	// Any other failure is the open's to report.
	return nil
}
