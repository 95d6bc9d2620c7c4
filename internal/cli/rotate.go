package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type rotateOpts struct {
	name         string
	keep         int
	maxAge       time.Duration
	gzip         bool
	copyTruncate bool
}

func newRotateCmd(g *globals) *cobra.Command {
	o := &rotateOpts{}
	cmd := &cobra.Command{
		Use:   "rotate NAME [--keep N] [--max-age D] [--gzip] [--copytruncate]",
		Short: "Rotate the log NAME under its lease; appenders everywhere move to the new file",
		Long: `rotate holds NAME's lease and lock, creates the new empty live file (same mode
and owner), links NAME to NAME.<UTC time to the ns>.<token>, renames the new
file over NAME (NAME never disappears) and bumps the rotation generation in
the lock record: every 'sharedwrite append' and library Appender, on any host,
checks it before each batch, so no record goes to the rotated file afterwards.
It prints the rotated file's name (nothing when NAME is missing or empty).

--gzip compresses the rotated file into a temp, verifies it, publishes it, and
only then removes the plain file. --keep and --max-age prune rotated files.
That work comes after the lease is released: --timeout does not bound it.

--copytruncate is for a program that writes NAME itself and never reopens it:
NAME is copied to the rotated name and truncated in place. What that program
writes between the end of the copy and the truncation is lost, and a program
that does not write with O_APPEND leaves a hole of zeros after the truncation.`,
		Example: `  sharedwrite --redis redis://cache:6379 rotate logs/app.log --keep 7 --gzip`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runRotate(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.keep, "keep", 0, "keep this many rotated files, removing older ones (0: keep all)")
	f.DurationVar(&o.maxAge, "max-age", 0, "remove rotated files older than this (0: no limit)")
	f.BoolVar(&o.gzip, "gzip", false, "compress the rotated file (verified before the plain file is removed)")
	f.BoolVar(&o.copyTruncate, "copytruncate", false, "copy then truncate in place, for programs that never reopen their log (see the loss window above)")
	return cmd
}

func runRotate(ctx context.Context, g *globals, o *rotateOpts) error {
	if o.keep < 0 || o.maxAge < 0 {
		return usagef("--keep and --max-age must not be negative")
	}
	// --timeout bounds the wait for the lease and the lock: the compression
	// and pruning after the rotation run under ctx, without it.
	opts := []coordinator.LogOption{coordinator.Keep(o.keep), coordinator.MaxAge(o.maxAge), coordinator.AfterContext(ctx)}
	if o.gzip {
		opts = append(opts, coordinator.Gzip())
	}
	if o.copyTruncate {
		opts = append(opts, coordinator.CopyTruncate())
	}
	return g.withExistingVolume(ctx, "rotate "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		r, err := v.c.Rotate(ctx, o.name, opts...)
		var perr error
		if r.Name != "" {
			perr = g.printf("rotate "+quote.Name(o.name), "%s\n", quote.Value(r.Name))
		}
		for _, rm := range r.Removed {
			g.logger.InfoContext(ctx, "removed a rotated file", "path", quote.Value(rm))
		}
		if err != nil && r.Name != "" && !errors.Is(err, coordinator.ErrDurabilityUnconfirmed) {
			// The rotation was made; what failed is the work after it.
			err = fmt.Errorf("rotated to %s, but the work after the rotation failed (a file left plain is compressed by a rotate --gzip a minute or more later): %w", quote.Value(r.Name), err)
		}
		if err != nil {
			return err
		}
		return perr
	})
}
