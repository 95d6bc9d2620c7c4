package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type writeOpts struct {
	name      string
	from      string
	mode      string
	keepMtime bool
	inPlace   bool
}

func newWriteCmd(g *globals) *cobra.Command {
	o := &writeOpts{}
	cmd := &cobra.Command{
		Use:   "write NAME [--from FILE|-]",
		Short: "Replace NAME atomically with the content of FILE or stdin",
		Example: `  sharedwrite write config.json --from ./config.json
  echo hello | sharedwrite --redis redis://cache:6379 write greeting.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runWrite(cmd.Context(), g, o, cmd.Flags().Changed("mode"))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "-", "read the content from FILE, or stdin for -")
	f.StringVar(&o.mode, "mode", "0644", "permission of a new file; given explicitly, also forced on an existing file")
	f.BoolVar(&o.keepMtime, "keep-mtime", false, "keep the existing file's modification time")
	f.BoolVar(&o.inPlace, "in-place-if-busy", false, "when the target cannot be replaced (a bind-mounted file: EBUSY), rewrite it in place (not atomic for readers)")
	return cmd
}

func runWrite(ctx context.Context, g *globals, o *writeOpts, forceMode bool) error {
	perm, err := parseMode(o.mode)
	if err != nil {
		return err
	}
	if o.from == "-" {
		if err := closedStdin(g.stdin); err != nil {
			return fmt.Errorf("write %s: nothing committed: %w", quote.Name(o.name), err)
		}
	}
	wo := writeOptions{perm: perm, forceMode: forceMode, keepMtime: o.keepMtime, inPlaceIfBusy: o.inPlace}
	return g.withVolume(ctx, "write "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		var r io.Reader = g.stdin
		from := "stdin"
		if o.from != "-" {
			// Opened under --timeout and the signals: FILE may be a named
			// pipe no writer opens (see openFrom).
			f, err := openFrom(ctx, o.from)
			if err != nil {
				return fmt.Errorf("write %s: %w", quote.Name(o.name), err)
			}
			defer f.Close()
			r = f
			from = "--from " + quote.Name(o.from)
		}
		return v.WriteFrom(ctx, o.name, r, from, wo)
	})
}
