package coordinator

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Default settings.
const (
	// DefaultLeaseTTL is the lease time to live when WithLeaseTTL is not given.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultUnknownStaleWindow is the stale-view window when the mount's cache
	// times cannot be read.
	DefaultUnknownStaleWindow = 30 * time.Second
	// DefaultMaxReadSize is the largest file, in bytes, that ReadFile,
	// Update, InitOnce and Watch hold in memory when WithMaxReadSize is not
	// given: 256 MiB.
	DefaultMaxReadSize = 256 << 20
)

// Option configures Open.
type Option func(*config)

type config struct {
	client         redis.UniversalClient
	redisURL       string
	leaseTTL       time.Duration
	commitMargin   time.Duration
	staleWindow    time.Duration
	staleWindowSet bool
	strict         bool
	maxInFlight    int
	maxQueued      int
	waitWhenFull   bool
	tp             trace.TracerProvider
	mp             metric.MeterProvider
	logger         *slog.Logger
	acceptUnconf   bool
	adopted        *adoptedLease
	tempDir        string
	maxReadSize    int64
}

type adoptedLease struct {
	key     string
	leaseID string
	token   uint64
	fd      uintptr
	turn    string // the turn scope (WithAdoptedTurn); "" is the lease id
}

// WithRedis runs in Redis mode with the given client. The caller keeps
// ownership: Close does not close it. Close it only after the coordinator's
// Close and the Commit or Abort of every streaming File still open then: that
// Commit or Abort releases the File's lease through it (closed before, the
// lease stays in Redis until its TTL runs out).
func WithRedis(c redis.UniversalClient) Option { return func(o *config) { o.client = c } }

// WithRedisURL runs in Redis mode with a client built from url (redis://,
// rediss://, unix://, Sentinel and Cluster forms). An empty url means local mode.
// Close closes the client.
func WithRedisURL(url string) Option { return func(o *config) { o.redisURL = url } }

// WithLeaseTTL sets the lease time to live (default DefaultLeaseTTL; at least
// locking.MinTTL, or Open fails with an error wrapping fs.ErrInvalid).
func WithLeaseTTL(d time.Duration) Option { return func(o *config) { o.leaseTTL = d } }

// WithCommitMargin sets the lease validity a commit needs left (default TTL/5;
// 0 means the default). A commit with less left is refused with an error
// wrapping ErrLeaseLost. A negative margin, or one not below the lease TTL,
// makes Open fail (an error wrapping fs.ErrInvalid).
func WithCommitMargin(d time.Duration) Option { return func(o *config) { o.commitMargin = d } }

// WithStaleWindow sets how long a fresh read keeps retrying while the file on the
// volume matches no recorded version (default: twice the longest attribute or
// lookup cache time the mount options allow, DefaultUnknownStaleWindow when they
// cannot be read, 0 on local filesystems). Never past the caller's deadline.
// A negative window makes Open fail (an error wrapping fs.ErrInvalid).
func WithStaleWindow(d time.Duration) Option {
	return func(o *config) { o.staleWindow, o.staleWindowSet = d, true }
}

// Strict makes a file that matches no recorded version after the stale-view
// window an error (ErrStaleView) instead of adopting it with a warning.
func Strict() Option { return func(o *config) { o.strict = true } }

// WithLimits bounds the operations in flight (holding or waiting for a lease)
// and queued behind them. Beyond both an operation fails at once with
// ErrQueueFull, unless WaitWhenFull is given. Zero maxInFlight means unbounded.
// A negative value makes Open fail (an error wrapping fs.ErrInvalid).
func WithLimits(maxInFlight, maxQueued int) Option {
	return func(o *config) { o.maxInFlight, o.maxQueued = maxInFlight, maxQueued }
}

// WaitWhenFull makes an operation beyond the limits wait for room within its
// context instead of failing with ErrQueueFull.
func WaitWhenFull() Option { return func(o *config) { o.waitWhenFull = true } }

// WithTracerProvider sets the tracer provider (default: the otel global).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *config) { o.tp = tp } }

// WithMeterProvider sets the meter provider (default: the otel global).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *config) { o.mp = mp } }

// WithLogger sets the logger (default slog.Default()). Records logged with an
// operation's context carry its trace and span ids when the logger's handler is
// wrapped with NewLogHandler.
func WithLogger(l *slog.Logger) Option { return func(o *config) { o.logger = l } }

// AcceptUnconfirmedDurability makes a commit whose directory fsync the volume
// refused a success with a logged warning instead of ErrDurabilityUnconfirmed.
func AcceptUnconfirmedDurability() Option { return func(o *config) { o.acceptUnconf = true } }

// WithAdoptedLease makes operations on key adopt a lease and file lock already
// held by a parent process (the CLI's `lock NAME -- CMD` passes them in
// SHAREDWRITE_LEASE and an inherited descriptor) instead of waiting for them,
// which would deadlock. The adopted lease and lock are never released here:
// the parent releases them.
func WithAdoptedLease(key, leaseID string, token uint64, fd uintptr) Option {
	return func(o *config) {
		turn := ""
		if o.adopted != nil {
			turn = o.adopted.turn
		}
		o.adopted = &adoptedLease{key: key, leaseID: leaseID, token: token, fd: fd, turn: turn}
	}
}

// WithAdoptedTurn sets the turn scope of an adopted lease: LeaseInfo.Turn of
// the Lock that handed it down (the CLI passes it in SHAREDWRITE_LEASE).
// The processes that adopted a lease under one scope, and the operations
// nested in that Lock's function, take turns on the key with each other.
// Without it the scope is the lease id, that of a Lock that holds the lease
// itself. Give it with WithAdoptedLease, in either order.
func WithAdoptedTurn(scope string) Option {
	return func(o *config) {
		if o.adopted == nil {
			o.adopted = &adoptedLease{}
		}
		o.adopted.turn = scope
	}
}

// WithMaxReadSize bounds the files that ReadFile, Update, InitOnce and Watch
// read whole into memory to n bytes (default DefaultMaxReadSize). A larger
// file is refused, with no more than n+1 bytes of it read (writer.MaxReadSize),
// by an error wrapping ErrTooLarge and syscall.EFBIG; it is not retried.
// Update and InitOnce then call neither fn nor gen and commit nothing, and
// Watch ends. n <= 0 means no limit: a file larger than the memory the
// process may use then ends the process.
func WithMaxReadSize(n int64) Option { return func(o *config) { o.maxReadSize = n } }

// WithTempDir writes temps in dir (relative to the root) instead of beside the
// target; on another device the commit falls back to copy + rename (EXDEV).
func WithTempDir(dir string) Option { return func(o *config) { o.tempDir = dir } }
