package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
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
	modeSet   bool // --mode given: exactly that mode, whatever the umask
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

append exits when stdin ends and every record is committed. After a batch
fails no later line is committed (the log has no gap): append exits non-zero
and says how many lines were committed, which are the first ones of stdin.
A line is held in memory until it is committed: one longer than
--max-read-size (input with no newline, such as binary data) fails the
append as a failed batch does (exit 1), and nothing of it is written.

--timeout bounds each batch's commit, the wait for the lease included, not
the whole stream; with --timeout 0 a batch waits without limit.`,
		Example: `  myserver 2>&1 | sharedwrite --redis redis://cache:6379 append logs/app.log
  sharedwrite append logs/app.log --rotate-at 104857600 --keep 5 --gzip < events`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			o.modeSet = cmd.Flags().Changed("mode")
			return runAppend(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.maxBytes, "max-batch-bytes", coordinator.DefaultMaxBatchBytes, "close a batch at this many bytes")
	f.DurationVar(&o.maxDelay, "max-delay", coordinator.DefaultMaxBatchDelay, "how long a batch waits for more records after its first")
	f.BoolVar(&o.framed, "framed", false, "write each batch behind a length + CRC-32C frame header")
	f.StringVar(&o.mode, "mode", "0644", "permission of NAME when the first append creates it (less the umask; given explicitly, exactly)")
	f.Int64Var(&o.rotateAt, "rotate-at", 0, "rotate NAME before a batch when it holds at least this many bytes (0: never)")
	f.IntVar(&o.keep, "keep", 0, "with --rotate-at: keep this many rotated files (0: all)")
	f.DurationVar(&o.maxAge, "max-age", 0, "with --rotate-at: remove rotated files older than this (0: no limit)")
	f.BoolVar(&o.gzip, "gzip", false, "with --rotate-at: compress rotated files")
	f.IntVar(&o.maxQueued, "max-queued", 65536, "lines read ahead of their commit (stdin waits beyond, and once they fill --max-batch-bytes)")
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
	if o.maxBytes < 0 || o.maxDelay < 0 || o.rotateAt < 0 || o.keep < 0 || o.maxAge < 0 {
		return usagef("--max-batch-bytes, --max-delay, --rotate-at, --keep and --max-age must not be negative")
	}
	if o.rotateAt == 0 && (o.keep > 0 || o.maxAge > 0 || o.gzip) {
		// Without rotation they would do nothing, silently.
		return usagef("--keep, --max-age and --gzip apply to rotation: give --rotate-at too")
	}
	logPerm := coordinator.LogPerm
	if o.modeSet {
		logPerm = coordinator.LogMode
	}
	opts := []coordinator.LogOption{
		coordinator.MaxBatchBytes(o.maxBytes),
		logPerm(perm), coordinator.RotateAtSize(o.rotateAt),
		coordinator.Keep(o.keep), coordinator.MaxAge(o.maxAge),
		coordinator.BatchTimeout(batchTimeout(g.timeout)),
	}
	if o.framed {
		opts = append(opts, coordinator.Framed())
	}
	if o.gzip {
		opts = append(opts, coordinator.Gzip())
	}
	return g.withVolume(ctx, "append "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		// A bad name is refused before stdin is read, as by the other
		// commands, even when stdin holds nothing to append.
		if err := v.c.CheckName(o.name); err != nil {
			return err
		}
		// --timeout bounds each batch, not the whole stream.
		acquired()
		// The lines are batched here, not in the Appender (MaxBatchDelay 0):
		// see appendLines.
		a := v.c.Appender(o.name, append(opts, coordinator.MaxBatchDelay(0))...)
		n, unknown, err := appendLines(ctx, a, g.stdin, batching{maxBytes: o.maxBytes, maxDelay: o.maxDelay, maxQueued: o.maxQueued, maxLine: g.maxReadSize})
		a.Close()
		if errors.Is(err, coordinator.ErrDurabilityUnconfirmed) {
			return fmt.Errorf("append %s: all %d lines of stdin committed: %w", quote.Name(o.name), n, err)
		}
		if err != nil && unknown > 0 {
			// Not "not committed": the log's next holder may commit them,
			// and lines fed again would then be there twice.
			return fmt.Errorf("append %s: %d lines committed (the first %d of stdin); the outcome of the next %d lines is unknown (the log's next holder may commit them: check the log before appending them again); the lines after them were not committed: %w",
				quote.Name(o.name), n, n, unknown, err)
		}
		if err != nil {
			return fmt.Errorf("append %s: %d lines committed (the first %d of stdin); the lines after them were not committed: %w",
				quote.Name(o.name), n, n, err)
		}
		return nil
	})
}

// noLimit is a duration no wait reaches (about 292 years), for the
// coordinator's bounds that take 0 to mean their default.
const noLimit = time.Duration(math.MaxInt64)

// batchTimeout is the bound on one batch's commit, the lease wait included:
// --timeout, and no limit for --timeout 0. It is always passed to the
// Appender, whose BatchTimeout takes 0 to mean DefaultBatchTimeout (1m).
func batchTimeout(timeout time.Duration) time.Duration {
	if timeout == 0 {
		return noLimit
	}
	return timeout
}

// batching is how appendLines groups stdin's lines into batches.
type batching struct {
	maxBytes  int           // close a batch at this many bytes (a longer line is a batch of its own)
	maxDelay  time.Duration // how long a batch waits for more lines after its first
	maxQueued int           // lines read ahead of their commit (also no more than fill a batch while one is in flight)
	// maxLine bounds a line, its '\n' included (0: no limit): a line is
	// held in memory until it is committed, and input with no newline
	// (binary data, /dev/zero) would otherwise be read on until memory
	// runs out. --max-read-size.
	maxLine int64
}

// appendLines appends r's lines (a last line without '\n' gets one) and
// returns how many were committed: always the first lines of r, every
// committed line counted; and how many lines follow them whose batch failed
// with its outcome unknown (coordinator.ErrOutcomeUnknown: the log's next
// holder may commit it), 0 when none did.
//
// The lines are grouped here into batches, and each batch goes to the
// Appender as one record, with at most one in flight, so that the count of
// committed lines is exact: appendLines stops at the first failed batch and
// returns its error (the Appender also fails whatever was queued behind a
// failed batch, so nothing after it would be committed either way). Lines read while a batch commits
// form the next one, so this is still a group commit.
//
// A batch committed with its durability unconfirmed (its rotation's
// directory fsync refused) counts as committed: the lines go on, and its error
// is returned once all are committed.
//
// When ctx ends, appendLines sends nothing more; a batch in flight is
// withdrawn if the Appender has not taken it yet, else its outcome is awaited
// and counted. It returns context.Cause(ctx) then.
func appendLines(ctx context.Context, a *coordinator.Appender, r io.Reader, b batching) (committed, unknown int, _ error) {
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		br := bufio.NewReaderSize(r, 1<<16)
		for n := 1; ; n++ {
			line, err := readLine(br, b.maxLine)
			if len(line) > 0 && line[len(line)-1] != '\n' {
				line = append(line, '\n')
				if b.maxLine > 0 && int64(len(line)) > b.maxLine {
					line, err = nil, lineTooLongErr(b.maxLine)
				}
			}
			if errors.Is(err, syscall.EFBIG) {
				err = fmt.Errorf("line %d: %w", n, err)
			}
			if len(line) > 0 {
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

	var (
		queued   [][]byte  // lines read, not yet sent
		size     int       // bytes in queued
		first    time.Time // when the oldest line queued was read (or earlier)
		eof      bool
		inflight chan error // outcome of the batch sent, nil when none
		sent     int        // lines in that batch
		// unconfirmed is the error of a batch committed with its
		// durability unconfirmed, returned once every line is committed.
		unconfirmed error
	)
	// failed returns err, saying also that lines committed before it were
	// committed with their durability unconfirmed when some were (err
	// decides the exit).
	failed := func(err error) (int, int, error) {
		if unconfirmed != nil {
			err = fmt.Errorf("%w (and some of the lines committed before: %v)", err, unconfirmed)
		}
		return committed, unknown, err
	}
	// outcome counts the lines of the batch in flight by its outcome err.
	outcome := func(err error) {
		switch {
		case err == nil || errors.Is(err, coordinator.ErrDurabilityUnconfirmed):
			committed += sent
		case errors.Is(err, coordinator.ErrOutcomeUnknown):
			unknown = sent
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if inflight == nil && len(queued) > 0 {
			if eof || size >= b.maxBytes || time.Since(first) >= b.maxDelay {
				var rec []byte
				rec, sent = takeBatch(queued, b.maxBytes)
				queued = queued[sent:]
				size -= len(rec)
				inflight = make(chan error, 1)
				go func() { inflight <- a.Append(ctx, rec) }()
			} else {
				timer.Reset(time.Until(first.Add(b.maxDelay)))
			}
		}
		if inflight == nil && len(queued) == 0 && eof {
			if err := <-readErr; err != nil {
				return failed(fmt.Errorf("read stdin: %w", err))
			}
			return committed, 0, unconfirmed
		}
		in := lines
		if eof || len(queued) >= b.maxQueued || inflight != nil && size >= b.maxBytes {
			// stdin waits. Also once the lines read ahead of a batch in
			// flight fill the next one: more would not join it, and
			// --max-queued lines as long as --max-read-size allows are
			// far more memory than a batch.
			in = nil
		}
		select {
		case line, ok := <-in:
			if !ok {
				eof = true
				continue
			}
			if len(queued) == 0 {
				first = time.Now()
			}
			queued = append(queued, line)
			size += len(line)
		case err := <-inflight:
			if err != nil && !errors.Is(err, coordinator.ErrDurabilityUnconfirmed) {
				outcome(err)
				return failed(err)
			}
			if err != nil {
				// Committed, but the directory fsync of its rotation was
				// refused: the lines go on, and the end reports it.
				unconfirmed = err
			}
			committed += sent
			inflight = nil
		case <-timer.C:
		case <-ctx.Done():
			if inflight != nil {
				outcome(<-inflight)
			}
			return failed(context.Cause(ctx))
		}
	}
}

// takeBatch joins the first lines of queued up to maxBytes (at least one
// line) and returns them with their count.
func takeBatch(queued [][]byte, maxBytes int) ([]byte, int) {
	n, size := 0, 0
	for n < len(queued) && (n == 0 || size+len(queued[n]) <= maxBytes) {
		size += len(queued[n])
		n++
	}
	rec := make([]byte, 0, size)
	for _, l := range queued[:n] {
		rec = append(rec, l...)
	}
	return rec, n
}

// readLine reads a line of br, its '\n' included, as br.ReadBytes('\n')
// does, but fails (EFBIG) as soon as the line passes limit bytes (0: no
// limit), without holding more of it.
func readLine(br *bufio.Reader, limit int64) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if limit > 0 && int64(len(line)+len(frag)) > limit {
			return nil, lineTooLongErr(limit)
		}
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// lineTooLongErr is the refusal of a line longer than limit bytes.
func lineTooLongErr(limit int64) error {
	return fmt.Errorf("longer than the limit of %d bytes (--max-read-size) that a line held in memory may take: %w", limit, syscall.EFBIG)
}
