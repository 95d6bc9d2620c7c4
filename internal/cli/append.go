package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/spf13/cobra"
)

type appendOpts struct {
	name      string
	maxBytes  int
	maxDelay  time.Duration
	framed    bool
	mode      string
	rotateAt  int64
	keep      int
	maxAge    time.Duration
	gzip      bool
	maxQueued int
}

func newAppendCmd(g *globals) *cobra.Command {
	o := &appendOpts{}
	cmd := &cobra.Command{
		Use:   "append NAME",
		Short: "Append stdin's lines to NAME as records, group-committed across processes and hosts",
		Long: `append reads lines from stdin and appends each as one record to NAME. Records
are gathered into batches (closed at --max-batch-bytes or after --max-delay);
each batch is written under NAME's lease and lock at exactly the committed
length, fsynced, and recorded in the lock record, so appenders on many hosts
never tear, interleave or duplicate records, and a crashed appender's
unacknowledged tail is dropped by the next append. A rotation by
'sharedwrite rotate' is followed: no record goes to a rotated file.

append exits when stdin ends and every record is committed; on a failure it
says how many lines were committed before it.`,
		Example: `  myserver 2>&1 | sharedwrite --redis redis://cache:6379 append logs/app.log
  sharedwrite append logs/app.log --rotate-at 104857600 --keep 5 --gzip < events`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runAppend(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.maxBytes, "max-batch-bytes", coordinator.DefaultMaxBatchBytes, "close a batch at this many bytes")
	f.DurationVar(&o.maxDelay, "max-delay", coordinator.DefaultMaxBatchDelay, "how long a batch waits for more records after its first")
	f.BoolVar(&o.framed, "framed", false, "write each batch behind a length + CRC-32C frame header")
	f.StringVar(&o.mode, "mode", "0644", "permission of NAME when the first append creates it")
	f.Int64Var(&o.rotateAt, "rotate-at", 0, "rotate NAME before a batch when it holds at least this many bytes (0: never)")
	f.IntVar(&o.keep, "keep", 0, "with --rotate-at: keep this many rotated files (0: all)")
	f.DurationVar(&o.maxAge, "max-age", 0, "with --rotate-at: remove rotated files older than this (0: no limit)")
	f.BoolVar(&o.gzip, "gzip", false, "with --rotate-at: compress rotated files")
	f.IntVar(&o.maxQueued, "max-queued", 65536, "lines read ahead of their commit (stdin waits beyond)")
	return cmd
}

func runAppend(ctx context.Context, g *globals, o *appendOpts) error {
	perm, err := parseMode(o.mode)
	if err != nil {
		return err
	}
	if o.maxQueued < 1 {
		return usagef("--max-queued must be at least 1")
	}
	opts := []coordinator.LogOption{
		coordinator.MaxBatchBytes(o.maxBytes), coordinator.MaxBatchDelay(o.maxDelay),
		coordinator.LogPerm(perm), coordinator.RotateAtSize(o.rotateAt),
		coordinator.Keep(o.keep), coordinator.MaxAge(o.maxAge),
	}
	if g.timeout > 0 {
		opts = append(opts, coordinator.BatchTimeout(g.timeout))
	}
	if o.framed {
		opts = append(opts, coordinator.Framed())
	}
	if o.gzip {
		opts = append(opts, coordinator.Gzip())
	}
	return g.withVolume(ctx, "append "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		// --timeout bounds each batch, not the whole stream.
		acquired()
		a := v.c.Appender(o.name, opts...)
		n, err := appendLines(ctx, a, g.stdin, o.maxQueued)
		a.Close()
		if err != nil {
			return fmt.Errorf("append %s: %d lines committed, then: %w", quote.Name(o.name), n, err)
		}
		return nil
	})
}

// appendLines appends r's lines (a last line without '\n' gets one) and waits
// for their commits, with at most maxQueued lines read ahead. It returns how
// many lines were committed before the first failure.
func appendLines(ctx context.Context, a *coordinator.Appender, r io.Reader, maxQueued int) (int, error) {
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		br := bufio.NewReaderSize(r, 1<<16)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if line[len(line)-1] != '\n' {
					line = append(line, '\n')
				}
				select {
				case lines <- line:
				case <-stop:
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				close(lines)
				return
			}
		}
	}()

	pending := make(chan (<-chan error), maxQueued)
	done, failed := make(chan struct{}), make(chan struct{})
	var committed int
	var firstErr error
	go func() {
		defer close(done)
		for res := range pending {
			if err := <-res; err != nil && firstErr == nil {
				firstErr = err
				close(failed)
			} else if err == nil && firstErr == nil {
				committed++
			}
		}
	}()

	var err error
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err = <-readErr
				if err != nil {
					err = fmt.Errorf("read stdin: %w", err)
				}
				break loop
			}
			pending <- a.AppendAsync(line)
		case <-ctx.Done():
			err = context.Cause(ctx)
			break loop
		case <-failed:
			break loop
		}
	}
	close(pending)
	<-done
	if firstErr != nil {
		return committed, firstErr
	}
	return committed, err
}
