// Package locking provides the leases and locks sharedwrite serialises writers
// with: a Redis lease with fencing tokens, a file lock on the shared volume,
// and the lock record kept in that file. It knows nothing of file contents.
//
// # Redis lease
//
// RedisLocker holds a lease per key (the canonical path relative to the root)
// under the Redis keys sw:{<volume-id>:<sha256(path)>}:lock|token|fence|commit
// (and :queue|qexp for waiters)
// (one hash tag per path, so a path's keys share a Cluster slot). Acquire,
// refresh, release and raise-floor are our own Lua scripts (acquire.lua, ...,
// embedded), one round trip each:
//
//   - acquire: SET NX PX, INCR the fence, return the token and the committed
//     record Redis keeps; idempotent for a given lease value, so a retry after
//     a lost reply returns the same token;
//   - refresh: compare and PEXPIRE;
//   - release: compare and delete, store the committed record handed to it,
//     publish the release and the change event;
//   - raise-floor: only for the holder, move the fence past a floor read from
//     the volume and return a new token.
//
// github.com/bsm/redislock is not used for the lease: its fixed scripts cannot
// return a fencing token or a committed record, nor publish a release, so each
// would cost another round trip and waiters would have to poll. It is the
// baseline the tests (mutual exclusion parity) and the benchmarks compare with.
//
// A lease is valid until start + TTL − drift, where start is the send time of
// the last successful acquire or refresh on CLOCK_BOOTTIME (Go's monotonic
// clock stops while the machine is suspended) and drift is 1% of the TTL plus
// 2 ms. A watchdog refreshes every TTL/3 from the moment the lease is
// obtained; a refresh that finds another value loses the lease at once (Done
// closes, Context is cancelled with cause ErrLeaseLost); transient errors are
// retried until the validity runs out. Outside Linux the validity is measured
// on the monotonic clock, which on some systems stops during sleep.
//
// A TTL lease is not perfect mutual exclusion: a holder paused past its TTL
// (a stopped process, a long GC, a partition) can act after another holder
// took over. The fencing token closes that gap where the volume checks it: the
// lock record's floor (see below) refuses a commit from an older token.
//
// Waiters queue in arrival order in Redis, so a freed lease goes to the
// longest waiter. A waiter subscribes to its own locker's release channel for
// the key (and waits for Redis to confirm it) before it retries; a release
// publishes on the channel of the first waiter in line only, so one release
// wakes one locker. When that channel has a subscriber, the release hands the
// lease to the waiter (new token, lock set to its lease id) and the message
// carries the grant: the waiter holds the lease without another round trip.
// Otherwise the message names the waiter, which claims the lease within the
// claim grace. The first in line waits for that message or the holder's PTTL
// (plus jitter), so an expired holder is taken over without a message; the
// others retry every claim grace (100 ms, plus jitter), so a waiter that died
// holds up the line for at most that grace after a release (a grant goes only
// to a locker whose pub/sub connection is alive). All waiters of one
// RedisLocker share one pub/sub connection. The caller's context deadline is
// honoured exactly; a deadline that passes while Redis cannot be reached is
// ErrUnavailable, one that passes while another lease holds the key is
// ErrNotObtained naming the holder ("<host>/<pid>/<locker>/<random>").
//
// The scripts are sent without client-side automatic retries; the locker
// retries within the caller's deadline with the same lease value. Redis URLs
// (redis://, rediss://, unix://, redis+sentinel://, redis+cluster://) are
// parsed by ParseRedisURL; RedactURL makes one fit for logs.
//
// # File lock and lock record
//
// Each key has a lock file <root>/.sharedwrite/locks/<sha256(path)>.lock,
// opened through os.Root with O_NOFOLLOW (a planted symlink never redirects a
// lock or a record), O_RDWR (NFS needs write access for exclusive locks),
// group-writable and never unlinked. FileLock.Lock takes flock(2) (LockFileEx
// on Windows), polling with a short backoff so that it honours cancellation.
// It is taken on that descriptor, not through gofrs/flock, which opens the file
// by its path: neither os.Root nor O_NOFOLLOW would then guard the open.
// The file holds the lock record: floor, pending and committed versions in a
// fixed-width, checksummed layout written in place (FORMAT.md at the
// repository root). A torn or unreadable record is ErrCorruptRecord, never
// zero.
//
// # Local mode
//
// LocalLocker implements the same Locker without Redis: the file lock alone
// serialises holders, and tokens come from the lock record (floor + 1).
//
// # Nested calls
//
// A command run under `sharedwrite lock NAME -- CMD` inherits the lease id,
// the token and the locked descriptor. RedisLocker.Adopt and AdoptFileLock
// let a sharedwrite call inside CMD use them instead of deadlocking; adopted
// leases and locks are released by their owner.
package locking
