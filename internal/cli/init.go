package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type initOpts struct {
	name string
	from string
	argv []string
}

func newInitCmd(g *globals) *cobra.Command {
	o := &initOpts{}
	cmd := &cobra.Command{
		Use:   "init NAME (--from FILE|- | -- CMD [ARG...])",
		Short: "Create NAME once across all replicas and print its content",
		Long: `init creates NAME from FILE, stdin or CMD's stdout unless it exists, with a
create-only commit: of replicas racing, exactly one generator's output is
published and every replica prints that same content. When CMD fails nothing is
written and init exits 8.`,
		Example: `  sharedwrite init cluster-id -- sh -c 'cat /proc/sys/kernel/random/uuid'
  sharedwrite init config.json --from /etc/defaults/config.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			hasFrom := cmd.Flags().Changed("from")
			if len(before) != 1 || hasFrom == (len(after) > 0) {
				return usagef("init takes NAME and either --from FILE|- or -- CMD [ARG...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			o.name, o.argv = before[0], after
			return runInit(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.from, "from", "", "take the content from FILE, or stdin for -")
	return cmd
}

func runInit(ctx context.Context, g *globals, o *initOpts) error {
	if o.argv == nil && o.from == "-" {
		// Refused also when NAME exists, which only the volume can tell:
		// like any other input that cannot be read.
		if err := closedStdin(g.stdin); err != nil {
			return fmt.Errorf("init %s: nothing committed: %w", quote.Name(o.name), err)
		}
	}
	var content []byte
	err := g.withVolume(ctx, "init "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		var err error
		content, err = v.InitOnce(ctx, o.name, func(ctx context.Context) ([]byte, error) {
			if o.argv == nil {
				// --timeout keeps bounding the read of --from: stdin may
				// never deliver EOF.
				b, err := g.readSource(ctx, o.from)
				if err != nil {
					return nil, sourceError{err}
				}
				return b, nil
			}
			acquired()
			return g.runFilter(ctx, o.name, o.argv, nil)
		})
		return err
	})
	var se sourceError
	if errors.As(err, &se) {
		// --from could not be read: not a command that failed (exit 8).
		return fmt.Errorf("init %s: nothing committed: %w", quote.Name(o.name), se.err)
	}
	// Committed with its durability unconfirmed (exit 7) is committed: the
	// file is there and every later init prints it, so this one does too.
	if err != nil && !errors.Is(err, coordinator.ErrDurabilityUnconfirmed) {
		return err
	}
	if _, werr := g.stdout.Write(content); werr != nil {
		if err != nil {
			return fmt.Errorf("%w (%v)", stdoutError("init "+quote.Name(o.name), werr), err)
		}
		return stdoutError("init "+quote.Name(o.name), werr)
	}
	return err
}

// sourceError is a failure to read init's --from, told apart from the
// failure of a command run after "--" that InitOnce reports for both.
type sourceError struct{ err error }

func (e sourceError) Error() string { return e.err.Error() }
func (e sourceError) Unwrap() error { return e.err }
