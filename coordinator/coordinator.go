package coordinator

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// leaser is what the coordinator needs of a locker: acquire a lease, or adopt
// one a parent process holds. Both locking.RedisLocker and locking.LocalLocker
// provide it.
type leaser interface {
	Acquire(ctx context.Context, key string, ttl time.Duration) (locking.Lease, error)
	Adopt(ctx context.Context, key, leaseID string, token uint64, ttl time.Duration) (locking.Lease, error)
}

// Coordinator runs coordinated operations on one volume root. It is safe for
// concurrent use; Close releases its handles.
type Coordinator struct {
	cfg         config
	root        *writer.Root
	locks       *locking.LockDir
	locker      leaser
	vol         volume
	client      redis.UniversalClient // the Redis client in use; nil in local mode
	ownClient   redis.UniversalClient
	gate        *gate
	tel         *telemetry
	log         *slog.Logger
	staleWindow time.Duration
	host        string
	life        *lifetime // running operations; Close (lifetime.go)

	adoptMu   sync.Mutex
	adoptedFL *locking.FileLock
	borrowed  borrowTurns // see borrowTurn

	// recordSync is how long the floor and pending writes (with their
	// fsync) take, in nanoseconds, a moving average (noteRecordSync): it
	// decides whether the next one starts early, alongside the temp's fsync
	// (startPrepare).
	recordSync atomic.Int64
}

// Open opens the volume at root (an existing directory) for coordinated
// operations. Without WithRedis or WithRedisURL it runs in local mode and
// publishes the volume's identity on first use; in Redis mode the volume must
// have been initialised with InitVolume (else ErrVolumeNotInitialised). A volume
// whose recorded mode differs from this one is refused with ErrModeMismatch.
// An option value out of its range (a negative duration or bound, a lease
// TTL below locking.MinTTL) is refused with an error wrapping fs.ErrInvalid
// before anything is opened or created. Open does not contact Redis (the
// first operation does), and does not use ctx.
func Open(ctx context.Context, root string, opts ...Option) (*Coordinator, error) {
	cfg := config{leaseTTL: DefaultLeaseTTL, maxReadSize: DefaultMaxReadSize}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, wrap("open", root, err)
	}
	if cfg.commitMargin == 0 {
		cfg.commitMargin = cfg.leaseTTL / 5
	}
	if cfg.commitMargin >= cfg.leaseTTL {
		return nil, wrap("open", root, fmt.Errorf("commit margin %v must be below the lease TTL %v: %w", cfg.commitMargin, cfg.leaseTTL, fs.ErrInvalid))
	}
	c := &Coordinator{cfg: cfg, log: cfg.logger, host: hostName(), life: newLifetime()}
	if c.log == nil {
		c.log = slog.Default()
	}
	var err error
	if c.tel, err = newTelemetry(cfg.tp, cfg.mp); err != nil {
		return nil, wrap("open telemetry", root, err)
	}
	c.gate = newGate(cfg.maxInFlight, cfg.maxQueued, cfg.waitWhenFull)

	client := cfg.client
	if client == nil && cfg.redisURL != "" {
		client, err = locking.NewClient(cfg.redisURL)
		if err != nil {
			return nil, wrap("open redis", locking.RedactURL(cfg.redisURL), err)
		}
		c.ownClient = client
		if err := InstrumentRedis(client, cfg.tp, cfg.mp); err != nil {
			client.Close()
			return nil, wrap("instrument redis", locking.RedactURL(cfg.redisURL), err)
		}
	}
	fail := func(err error) (*Coordinator, error) {
		c.Close() //nolint:errcheck // the first error matters
		return nil, err
	}

	if c.root, err = writer.Open(root); err != nil {
		return fail(wrap("open root", root, fmt.Errorf("%w: %w", ErrBadVolume, err)))
	}
	mode := ModeLocal
	if client != nil {
		mode = ModeRedis
	}
	if c.vol, err = ensureVolume(c.root.OS(), mode, mode == ModeLocal); err != nil {
		return fail(err)
	}
	lopts := []locking.Option{locking.Logger(c.log)}
	if c.locks, err = locking.OpenLockDir(c.root.OS(), lopts...); err != nil {
		return fail(wrap("open lock dir", metaDir+"/locks", err))
	}
	c.client = client
	if client != nil {
		c.locker = locking.NewRedisLocker(client, c.vol.id, lopts...)
	} else {
		c.locker = locking.NewLocalLocker(lopts...)
	}
	c.staleWindow = cfg.staleWindow
	if !cfg.staleWindowSet {
		c.staleWindow = mountStaleWindow(c.root.Dir())
	}
	_ = ctx
	return c, nil
}

// validate refuses option values that have no meaning, before anything is
// opened or created: a negative duration or bound is a caller's mistake, and
// taken as some other value it changes behaviour silently (a negative
// stale-view window counted as a local filesystem in one place and as a
// network one in another: a rotation then padded the rotated log with NUL
// bytes up to a length the file no longer had).
func (cfg *config) validate() error {
	switch {
	case cfg.leaseTTL < locking.MinTTL:
		return fmt.Errorf("lease TTL %v must be at least %v: %w", cfg.leaseTTL, locking.MinTTL, fs.ErrInvalid)
	case cfg.commitMargin < 0:
		return fmt.Errorf("commit margin %v is negative (0 means the default, TTL/5): %w", cfg.commitMargin, fs.ErrInvalid)
	case cfg.staleWindowSet && cfg.staleWindow < 0:
		return fmt.Errorf("stale-view window %v is negative (0 means no stale view to wait out): %w", cfg.staleWindow, fs.ErrInvalid)
	case cfg.maxInFlight < 0 || cfg.maxQueued < 0:
		return fmt.Errorf("limits %d in flight, %d queued: negative (0 in flight means unbounded): %w", cfg.maxInFlight, cfg.maxQueued, fs.ErrInvalid)
	}
	return nil
}

// Root is the absolute path of the volume root.
func (c *Coordinator) Root() string { return c.root.Dir() }

// VolumeID is the volume's identity (.sharedwrite/volume-id).
func (c *Coordinator) VolumeID() string { return c.vol.id }

// Mode is ModeRedis or ModeLocal.
func (c *Coordinator) Mode() string { return c.vol.mode }

// LeaseTTL is the configured lease time to live.
func (c *Coordinator) LeaseTTL() time.Duration { return c.cfg.leaseTTL }

// StaleWindow is the stale-view window fresh reads retry through.
func (c *Coordinator) StaleWindow() time.Duration { return c.staleWindow }

// Writer is the underlying writer.Root, for uncoordinated reads and for
// measuring the bare write a coordinated one is compared with.
func (c *Coordinator) Writer() *writer.Root { return c.root }

func hostName() string {
	h, _ := os.Hostname()
	return h
}
