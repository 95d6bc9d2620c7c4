// Package cli is the sharedwrite command: flags, environment, output, exit codes
// and the OpenTelemetry SDK set-up. All logic about files, leases and locks lives
// in the coordinator, writer and locking packages; this package only translates.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// commands lists every subcommand. A new subcommand is one file with an options
// struct, a run function and a constructor, plus one line here.
var commands = []func(*globals) *cobra.Command{
	newInitVolumeCmd,
	newWriteCmd,
	newReadCmd,
	newUpdateCmd,
	newLockCmd,
	newInitCmd,
	newMkdirCmd,
	newMoveCmd,
	newRmCmd,
	newRepairRecordCmd,
	newAppendCmd,
	newRotateCmd,
	newCleanCmd,
	newDoctorCmd,
	newBenchCmd,
	newWatchCmd,
	newVersionCmd,
}

// globals holds the flags every command shares and the process's streams.
type globals struct {
	root      string
	redisURL  string
	leaseTTL  time.Duration
	timeout   time.Duration
	logFormat string
	logLevel  string
	// maxReadSize bounds the files read whole into memory, in bytes (0: none).
	maxReadSize int64

	stdin          io.Reader
	stdout, stderr io.Writer
	logger         *slog.Logger

	// started is set once a command's run function begins: an error returned
	// before that is a usage error (exit 2).
	started bool
	// madeRoot lists the directories opening the volume created for a
	// missing root (local mode), which a failed command removes again.
	madeRoot []madeDir
}

// envRedis is the environment variable --redis defaults to.
const envRedis = "SHAREDWRITE_REDIS"

// Default values of the global flags.
const (
	defaultLeaseTTL = 10 * time.Second
	defaultTimeout  = time.Minute
)

// Main runs the command line args (without the program name) and returns the
// process exit code.
//
// SIGINT and SIGTERM cancel the operation, which then rolls back what it had
// not committed (and `lock` passes SIGTERM on to its command); the exit code is
// then 128 + the signal number, as a shell reports a process killed by it.
func Main(args []string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// Caught (and ignored) rather than fatal: a write to a closed stdout then
	// fails with EPIPE, which exits 1 naming the write to stdout after the
	// command's cleanup ran (doctor's probe files), instead of the runtime
	// killing the process mid-command. A command run after "--" starts with
	// the default disposition again (a caught signal is reset by exec).
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var got atomic.Value
	go func() {
		if s, ok := <-sigs; ok {
			got.Store(s)
			cancel(fmt.Errorf("interrupted by %v", s))
		}
	}()
	stdin, stdout := stdio()
	code := run(ctx, args, stdin, stdout, os.Stderr)
	if s, ok := got.Load().(syscall.Signal); ok {
		return exitAfterSignal(code, s)
	}
	return code
}

// telemetryFlush bounds the export of the run's spans and metrics at exit;
// telemetryFlushInterrupted, after a signal.
const (
	telemetryFlush            = 5 * time.Second
	telemetryFlushInterrupted = 500 * time.Millisecond
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	var shutdown func(context.Context) error
	// tl reports on telemetry (telemetryLogger: no credential of the
	// OTEL_* variables in what it logs).
	var tl *slog.Logger
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if !cmd.Flags().Changed("redis") {
			g.redisURL = os.Getenv(envRedis)
		}
		if cmd.Name() == "version" {
			// Uses no volume and no Redis: a bad $SHAREDWRITE_REDIS is no
			// reason to refuse it.
			g.redisURL = ""
		}
		if err := g.checkFlags(); err != nil {
			return err
		}
		logger, err := newLogger(stderr, g.logFormat, g.logLevel)
		if err != nil {
			return usageError{err}
		}
		g.logger = logger
		slog.SetDefault(logger)
		redis.SetLogger(redisLogger{logger})
		tl = telemetryLogger(logger)
		installTelemetryLogger(tl)
		shutdown, err = setupTelemetry(cmd.Context())
		if err != nil {
			// Telemetry is never a reason not to write: log and go on.
			tl.Warn("telemetry set-up failed; continuing without the export named", "err", err)
		}
		g.started = true
		return nil
	}
	err := unknownFlagFirst(root, args, root.ExecuteContext(ctx))
	if err != nil && !errors.Is(err, errNoAnswer) && len(g.madeRoot) > 0 {
		// The root this run created goes with its failure, when it is as
		// the run made it (a volume that stopped answering is left alone).
		g.removeMadeRoot(ctx)
	}
	if shutdown != nil {
		// The export of what the run recorded gets telemetryFlush, or
		// telemetryFlushInterrupted after a signal: a collector that does
		// not answer must not hold up an exit asked for. A signal during
		// the flush ends it at once.
		budget, stop := telemetryFlush, func() bool { return false }
		if ctx.Err() != nil {
			budget = telemetryFlushInterrupted
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
		if ctx.Err() == nil {
			stop = context.AfterFunc(ctx, cancel)
		}
		if serr := shutdown(sctx); serr != nil && tl != nil {
			tl.Warn("telemetry export did not finish; what this run recorded may be lost", "within", budget, "err", serr)
		}
		stop()
		cancel()
	}
	if err == nil {
		return exitOK
	}
	if !g.started && !errors.As(err, new(usageError)) {
		err = usageError{err}
	}
	code := exitCode(err)
	var st exitStatus
	if !errors.As(err, &st) {
		// cobra prints nothing itself (SilenceErrors): one line, the step and the path.
		io.WriteString(stderr, "sharedwrite: "+err.Error()+"\n")
		switch {
		case errors.Is(err, locking.ErrForeignRecord):
			io.WriteString(stderr, "The name's lock record was written in another format version: use the sharedwrite build that wrote it.\n")
		case errors.Is(err, locking.ErrCorruptRecord):
			io.WriteString(stderr, "The name's lock record is corrupt: 'sharedwrite repair-record NAME' rewrites it from the file as it is.\n")
		case errors.Is(err, writer.ErrBusyTarget):
			io.WriteString(stderr, "A file mounted onto the target cannot be replaced: 'sharedwrite write --in-place-if-busy NAME' rewrites it in place (not atomic for readers).\n")
		}
		if code == exitUsage {
			io.WriteString(stderr, "Run 'sharedwrite --help' for usage.\n")
		}
	}
	return code
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "sharedwrite",
		Short: "Write files on a volume shared by many processes and hosts, safely",
		Long: `sharedwrite writes files on a shared volume (NFS, a container volume, a bind
mount) so that many processes on many hosts never leave a torn file or lose an
update: a Redis lease with a fencing token, a file lock, a temp file that is
fsynced and renamed over the target, and a fenced, lease-aware commit.

Without --redis (and without $SHAREDWRITE_REDIS) it runs in local mode: the
file lock alone, correct on one host and across hosts only where the volume's
locks propagate (see 'sharedwrite doctor').`,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Help()
			return usagef("missing command")
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", ".", "the shared volume's top directory (the same on every replica)")
	// The default is read from the environment only when the flag is absent
	// (PersistentPreRunE), never shown in --help: it may hold a password.
	f.StringVar(&g.redisURL, "redis", "", "Redis URL (redis://, rediss://, unix://, Sentinel or Cluster forms); default $SHAREDWRITE_REDIS; none: local mode")
	f.DurationVar(&g.leaseTTL, "lease-ttl", defaultLeaseTTL, "lease time to live (refreshed every TTL/3 while held); at least 10ms")
	f.DurationVar(&g.timeout, "timeout", defaultTimeout, "how long to wait for the lease and the lock, and for Redis; 0: no limit (negative is refused)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text or json")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	f.Int64Var(&g.maxReadSize, "max-read-size", defaultMaxReadSize, "largest file, in bytes, that read, update, init and watch hold in memory, and longest line of append; a larger one is refused (exit 1); 0: no limit (negative is refused)")
	for _, c := range commands {
		cmd := c(g)
		if cmd.Args == nil {
			cmd.Args = cobra.NoArgs
		}
		cmd.Args = usageArgs(cmd.Args)
		root.AddCommand(cmd)
	}
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// checkFlags refuses global flag values no command can use (exit 2): a
// --lease-ttl under locking.MinTTL, a negative --timeout or --max-read-size, a Redis
// URL (from --redis or $SHAREDWRITE_REDIS) that does not parse. The URL's
// error never holds its password.
func (g *globals) checkFlags() error {
	if g.root == "" {
		return usagef("--root: must not be empty (without the flag: the current directory)")
	}
	if g.leaseTTL < locking.MinTTL {
		return usagef("--lease-ttl %v: must be at least %v", g.leaseTTL, locking.MinTTL)
	}
	if g.timeout < 0 {
		return usagef("--timeout %v: must not be negative (0: no limit)", g.timeout)
	}
	if g.maxReadSize < 0 {
		return usagef("--max-read-size %d: must not be negative (0: no limit)", g.maxReadSize)
	}
	if g.redisURL != "" {
		if _, err := locking.ParseRedisURL(g.redisURL); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// clientURL is the Redis URL to make clients with: redisURL with its dial
// timeout at most --timeout (locking.DialWithin).
func (g *globals) clientURL() string { return locking.DialWithin(g.redisURL, g.timeout) }

// usageArgs marks argument-count errors as usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// afterDash returns the arguments before and after "--" (nil when there is none).
func afterDash(cmd *cobra.Command, args []string) (before, after []string) {
	n := cmd.ArgsLenAtDash()
	if n < 0 {
		return args, nil
	}
	return args[:n], args[n:]
}
