package cli

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type repairRecordOpts struct{ name string }

func newRepairRecordCmd(g *globals) *cobra.Command {
	o := &repairRecordOpts{}
	return &cobra.Command{
		Use:   "repair-record NAME",
		Short: "Rewrite NAME's lock record when it is corrupt (exit 5 on every operation on NAME)",
		Long: `repair-record rewrites the lock record of NAME when it is corrupt (a torn or
garbage record, which every operation on NAME refuses with exit 5). Under
NAME's lease and lock it completes a transaction left pending on NAME, keeps
what is still sound of the record, takes a fencing token above every token
found there, and records the file as it is now as the committed version. A
sound record is left as it is; a record written in another format version is
refused (exit 5): the build that wrote it reads it.`,
		Example: `  sharedwrite repair-record config/app.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runRepairRecord(cmd.Context(), g, o)
		},
	}
}

func runRepairRecord(ctx context.Context, g *globals, o *repairRecordOpts) error {
	return g.withExistingVolume(ctx, "repair-record "+quote.Name(o.name), func(ctx context.Context, v *volume, _ func()) error {
		rep, err := v.RepairRecord(ctx, o.name)
		if err != nil {
			return err
		}
		if rep.NoRecord {
			return g.printf("repair-record "+quote.Name(o.name), "%s has no lock record (never written through sharedwrite); nothing changed\n", quote.Name(o.name))
		}
		if !rep.Repaired {
			return g.printf("repair-record "+quote.Name(o.name), "lock record of %s is sound; nothing changed\n", quote.Name(o.name))
		}
		c := rep.Committed
		what := fmt.Sprintf("%d bytes, sha256 %s", c.Size, hex.EncodeToString(c.SHA256[:]))
		if c.Deleted {
			what = "absent"
		}
		return g.printf("repair-record "+quote.Name(o.name), "lock record of %s rewritten (%s); token %d; the file as it is (%s) is the committed version\n",
			quote.Name(o.name), rep.Problem, c.Token, what)
	})
}
