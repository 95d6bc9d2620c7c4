package coordinator

import (
	"context"
	"io/fs"
	"time"
)

// Defaults of appends and rotations.
const (
	// DefaultMaxBatchBytes closes a batch of appended records at this size.
	DefaultMaxBatchBytes = 1 << 20
	// DefaultMaxBatchDelay is how long the first record of a batch waits for
	// more before the batch is committed.
	DefaultMaxBatchDelay = 2 * time.Millisecond
	// DefaultBatchTimeout bounds one batch's commit (lease wait included).
	DefaultBatchTimeout = time.Minute
)

// LogOption configures an Appender or a Rotate. Options that do not apply to
// the call are ignored.
type LogOption func(*logConfig)

type logConfig struct {
	maxBytes     int
	maxDelay     time.Duration
	batchTimeout time.Duration
	framed       bool
	perm         logPerm
	rotateAt     int64

	keep         int
	maxAge       time.Duration
	gzip         bool
	copyTruncate bool
	afterCtx     context.Context
}

func newLogConfig(opts []LogOption) logConfig {
	cfg := logConfig{
		maxBytes:     DefaultMaxBatchBytes,
		maxDelay:     DefaultMaxBatchDelay,
		batchTimeout: DefaultBatchTimeout,
		perm:         logPerm{mode: 0o644},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxBytes <= 0 {
		cfg.maxBytes = DefaultMaxBatchBytes
	}
	if limit := int64(maxFramePayload); cfg.framed && int64(cfg.maxBytes) > limit {
		cfg.maxBytes = int(limit) // only where int holds it
	}
	if cfg.maxDelay < 0 {
		cfg.maxDelay = 0
	}
	if cfg.batchTimeout <= 0 {
		cfg.batchTimeout = DefaultBatchTimeout
	}
	return cfg
}

// MaxBatchBytes closes a batch once it holds n bytes of records (default
// DefaultMaxBatchBytes). A single larger record is a batch of its own. With
// Framed, n is at most 4 GiB - 1 (a frame's length is 32 bits), and a larger
// record is refused.
func MaxBatchBytes(n int) LogOption { return func(c *logConfig) { c.maxBytes = n } }

// MaxBatchDelay is how long a batch stays open for more records after its
// first one arrived (default DefaultMaxBatchDelay). Records arriving while a
// batch commits join the next batch whatever the delay.
func MaxBatchDelay(d time.Duration) LogOption { return func(c *logConfig) { c.maxDelay = d } }

// BatchTimeout bounds the commit of one batch, the lease wait included
// (default DefaultBatchTimeout).
func BatchTimeout(d time.Duration) LogOption { return func(c *logConfig) { c.batchTimeout = d } }

// Framed writes each batch behind a frame header (magic, length, CRC-32C) so
// that a reader can check batches with ReadFrames. The file is then no longer
// plain text.
func Framed() LogOption { return func(c *logConfig) { c.framed = true } }

// LogPerm is the mode of a log file the first append creates (default 0644,
// minus the umask). An existing file keeps its mode, rotations included.
func LogPerm(perm fs.FileMode) LogOption {
	return func(c *logConfig) { c.perm = logPerm{mode: perm} }
}

// LogMode is LogPerm with the mode given exactly: the umask does not apply
// (as writer.Mode for a write), so that a replica with a narrow umask still
// creates a log the volume's other users can append to. The file is created
// and then given the mode: a process killed between the two leaves it with
// the mode less the umask, which later appends keep.
func LogMode(perm fs.FileMode) LogOption {
	return func(c *logConfig) { c.perm = logPerm{mode: perm, exact: true} }
}

// logPerm is the mode a log file is created with: less the umask, or exactly.
type logPerm struct {
	mode  fs.FileMode
	exact bool
}

// RotateAtSize makes the appender that finds the live file at or over n bytes
// rotate it before writing its batch, under the same lease (so only one
// appender rotates). Keep, MaxAge and Gzip apply to such rotations.
func RotateAtSize(n int64) LogOption { return func(c *logConfig) { c.rotateAt = n } }

// Keep keeps the n most recent rotated files and removes older ones (0, the
// default: keep all).
func Keep(n int) LogOption { return func(c *logConfig) { c.keep = n } }

// MaxAge removes rotated files whose rotation time is older than d (0, the
// default: no age limit).
func MaxAge(d time.Duration) LogOption { return func(c *logConfig) { c.maxAge = d } }

// Gzip compresses the rotated file: into a temp, verified by reading it back,
// published, and only then is the plain rotated file removed. The plain
// rotated files that a rotator left (it died or was closed before compressing
// them), rotated over a minute before, are compressed too.
func Gzip() LogOption { return func(c *logConfig) { c.gzip = true } }

// AfterContext runs the work Rotate does once the rotation is made (Gzip,
// Keep, MaxAge) under ctx instead of Rotate's own context: for a caller whose
// deadline bounds the wait for the lease and the lock, not the compression of
// a large file after the lease was released. Close still ends that work. An
// Appender's size-based rotations run that work under the Appender's context.
func AfterContext(ctx context.Context) LogOption {
	return func(c *logConfig) { c.afterCtx = ctx }
}

// CopyTruncate rotates by copying the live file and truncating it in place
// instead of renaming it, for programs that write their own log and never
// reopen it. Loss window: what such a program writes between the end of the
// copy and the truncation is lost (appends made through an Appender are not:
// they wait for the lease). A program writing without O_APPEND keeps its
// offset and leaves a hole of zeros after the truncation. The copy holds the
// whole file, except for a log an Appender writes, whose copy ends at the
// committed length (see Rotate). A copytruncate rotation in progress keeps a
// hidden marker, .<rotated name>.sw-ct, next to the log; a rotation left
// pending is completed by truncating in place, never by a rename.
func CopyTruncate() LogOption { return func(c *logConfig) { c.copyTruncate = true } }
