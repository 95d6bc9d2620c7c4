package locking

import (
	"io/fs"
	"log/slog"
	"time"
)

// Option configures a RedisLocker, a LocalLocker or a LockDir. Options that do
// not apply to the thing being configured are ignored.
type Option func(*config)

type config struct {
	filePerm   fs.FileMode
	dirPerm    fs.FileMode
	host       string
	logger     *slog.Logger
	pollMin    time.Duration
	pollMax    time.Duration
	retryEvery time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		filePerm:   0o660,
		dirPerm:    fs.ModeSetgid | 0o770,
		pollMin:    250 * time.Microsecond,
		pollMax:    time.Millisecond,
		retryEvery: 50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.host == "" {
		c.host = hostName()
	}
	if c.logger == nil {
		c.logger = slog.New(discardHandler{})
	}
	return c
}

// FilePerm sets the mode of newly created lock files (default 0660:
// group-writable, so replicas running as different users of one group can
// share them). It is applied with fchmod, so the umask does not narrow it.
func FilePerm(m fs.FileMode) Option { return func(c *config) { c.filePerm = m.Perm() } }

// DirPerm sets the mode of newly created .sharedwrite and .sharedwrite/locks
// directories (default fs.ModeSetgid|0770: setgid, so lock files get the
// directory's group). The octal 02000 bit is accepted for fs.ModeSetgid.
func DirPerm(m fs.FileMode) Option {
	return func(c *config) {
		if m&0o2000 != 0 {
			m |= fs.ModeSetgid
		}
		c.dirPerm = m & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
	}
}

// Host overrides the host part of lease ids (default: os.Hostname).
func Host(h string) Option { return func(c *config) { c.host = h } }

// Logger sets where lease losses, raised fencing tokens and a PUBLISH refused
// by Redis (once per locker) are logged (default: nowhere).
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// PollInterval sets the file lock's polling backoff bounds (default 0.25 ms
// doubling up to 1 ms; a bound below 10 µs is raised to it). flock(2) cannot
// be cancelled, so a blocked Lock polls.
func PollInterval(lo, hi time.Duration) Option {
	return func(c *config) {
		c.pollMin = max(lo, 10*time.Microsecond)
		c.pollMax = max(hi, c.pollMin)
	}
}

// RetryInterval sets how often Acquire retries while Redis refuses
// connections, how often the watchdog retries a failed refresh, and how often
// Release retries a reply a retry can cure (default 50 ms, at least 1 ms;
// jittered).
func RetryInterval(d time.Duration) Option {
	return func(c *config) { c.retryEvery = max(d, time.Millisecond) }
}
