package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type benchOpts struct {
	json    bool
	ops     int
	size    int
	workers int
}

func newBenchCmd(g *globals) *cobra.Command {
	o := &benchOpts{}
	cmd := &cobra.Command{
		Use:   "bench [--json]",
		Short: "Measure coordinated writes against a bare atomic write on this root",
		Long: `bench measures, side by side in one run on the root: a bare atomic write
(temp + fsync + rename + directory fsync of the same payload in the same
directory), the coordinated write, the coordination overhead in Redis round
trips (a PING measured in the same run), contended handoff (N workers on one
key) against the serial limit (one writer's rate), and distinct-key scaling.
It writes under a sharedwrite-bench-* directory in the root and removes it.
It first removes what earlier runs left because they were killed (SIGKILL):
the directory of a run whose process is gone, with its lock files and Redis
keys, saying so on stderr; a run still going is left alone.`,
		Example: `  sharedwrite --root /mnt/shared --redis redis://localhost:6379 bench
  sharedwrite --root /tmp/demo bench --json --ops 500`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ops < 1 || o.workers < 1 || o.size < 0 {
				return usagef("bench: --ops and --workers must be positive, --size not negative")
			}
			if o.size > benchMaxSize || o.workers > benchMaxWorkers {
				return usagef("bench: --size at most %d (%d MiB), --workers at most %d", benchMaxSize, benchMaxSize>>20, benchMaxWorkers)
			}
			return runBench(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the results as JSON")
	f.IntVar(&o.ops, "ops", 200, "operations per case")
	f.IntVar(&o.size, "size", 4096, fmt.Sprintf("payload size in bytes (at most %d MiB)", benchMaxSize>>20))
	f.IntVar(&o.workers, "workers", 4, fmt.Sprintf("workers for the contended and distinct-key cases (at most %d)", benchMaxWorkers))
	return cmd
}

// The largest payload and the most workers bench accepts. The payload is held
// in memory and written ops times per case; each worker is a coordinator of
// its own (its own descriptors, as a separate process would have).
const (
	benchMaxSize    = 64 << 20
	benchMaxWorkers = 64
)

func runBench(ctx context.Context, g *globals, o *benchOpts) error {
	stop := startProgress(g.stderr, "bench "+quote.Name(g.root))
	rep, err := runBenchCases(ctx, g, o)
	stop()
	if rep == nil {
		return err
	}
	// err, with a report, is the clean-up's: the figures stand, and the
	// error (exit 1) names what was left behind.
	if perr := printBench(g, o, rep); perr != nil {
		return perr
	}
	return err
}

// printBench prints rep as a table, or as JSON with --json.
func printBench(g *globals, o *benchOpts, rep *benchReport) error {
	what := "bench " + quote.Name(g.root)
	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return stdoutError(what, err)
		}
		return nil
	}
	out := &stickyWriter{w: g.stdout}
	fmt.Fprintf(out, "sharedwrite bench %s (%s mode, %d-byte payload)\n", quote.Name(rep.Root), rep.Mode, rep.Size)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  case\tops\tops/s\tp50\tp99\t\n")
	cases := rep.Cases
	if rep.Ping != nil {
		cases = append(cases, *rep.Ping)
	}
	for _, c := range cases {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%v\t%v\t\n", c.Name, c.Ops, opsPerS(c.OpsPerS), round(c.P50), round(c.P99))
	}
	tw.Flush()
	fmt.Fprintf(out, "  coordinated / bare (p50): %.2f\n", rep.CoordOnBare)
	if rep.Ping != nil {
		fmt.Fprintf(out, "  coordination overhead (p50): %v = %.1f x PING p50 (%v); %.1f Redis round trips per write\n",
			round(time.Duration(rep.OverheadNs)), rep.OverheadRTT, round(rep.Ping.P50), rep.RTTPerWrite)
	} else {
		fmt.Fprintf(out, "  coordination overhead (p50): %v (local mode: no Redis round trips)\n", round(time.Duration(rep.OverheadNs)))
	}
	fmt.Fprintf(out, "  contended handoff / serial limit (ops/s): %.2f\n", rep.Contended)
	fmt.Fprintf(out, "  distinct keys / single writer (ops/s): %.2f\n", rep.Scaling)
	if out.err != nil {
		return stdoutError(what, out.err)
	}
	return nil
}

// round rounds d for the table: to 10 µs from 1 ms on, to 0.1 µs from 1 µs
// on (by magnitude: a negative overhead is rounded like a positive one).
func round(d time.Duration) time.Duration {
	switch a := d.Abs(); {
	case a >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case a >= time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}

// opsPerS formats a rate for the table: whole numbers from 10 on, two
// decimals below (a slow volume's rate is not printed as 0).
func opsPerS(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.2f", r)
}
