// Package coordinator composes writer and locking into the operations users call:
// a write to a shared volume that many processes on many hosts perform safely.
//
// Every mutating operation follows the same path (see DESIGN.md, "The write
// path"): resolve the name to its canonical key, take the key's lease (Redis, or
// a formality in local mode), flock the key's lock file, check the fencing floor
// recorded on the volume before anything is read or run, read the current file
// and verify it against the version the volume's lock record says is committed
// (retrying through the stale-view window of network filesystems), write a temp
// file, and commit through a pre-commit hook that refuses when the lease's
// remaining validity is below the commit margin or when a newer token has begun
// a commit (ErrFenced). The hook writes floor and pending to the lock record and
// fsyncs them before the rename; committed is written after it; the lease's
// release stores the committed record in Redis and publishes the change event.
//
// Every operation's context is derived from its lease's context, so a lost lease
// cancels the work at once; anything not yet visible is rolled back (temps and
// created directories removed).
//
// Operations: WriteFile and streaming Create (Commit/Abort), Update
// (read-modify-write), InitOnce (create once across replicas), MkdirAll, Move
// (both keys leased when both paths are in the root), Remove, Lock (run a
// function holding the lease; nested calls on the same key reuse it, a child
// process adopts it with WithAdoptedLease, and the processes that adopted one
// lease take turns on the key), Tx (several files committed forward
// through one intent in .sharedwrite/tx/), PublishDir (a directory switched by
// an atomic symlink swap), Sweep and ReadFile. WithLimits bounds the operations
// in flight and queued (ErrQueueFull beyond them). WithMaxReadSize bounds the
// files that ReadFile, Update, InitOnce and Watch hold in memory
// (ErrTooLarge beyond it).
//
// Observability: a span per operation ("sharedwrite.<op>") with child spans per
// step (lease, flock, floor, read, write, fsync, commit, rename, dirsync,
// release), the histograms and counters named Metric*, from the otel global
// providers unless others are given. NewLogHandler adds trace_id and span_id to
// slog records; InstrumentRedis instruments a client without recording
// statements (an AUTH statement carries the password).
//
// Outcomes are three: not committed (an error; nothing changed), committed (nil),
// and committed with durability unconfirmed (ErrDurabilityUnconfirmed, unless
// AcceptUnconfirmedDurability was given). ExitCode maps any error to the CLI's
// exit codes.
//
// Caveats: a TTL lease is not perfect mutual exclusion. On filesystems whose
// locks do not propagate between hosts (sshfs, most FUSE mounts) a holder paused
// between its last check and its rename can still commit once; the fence on the
// volume narrows that window, it does not close it. Rename is atomic on local
// filesystems and on NFS for readers that do not hold the old file open.
//
// A Coordinator is safe for concurrent use by many goroutines.
package coordinator
