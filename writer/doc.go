// Package writer makes crash-safe, atomic changes to files under one root
// directory: the local half of sharedwrite. It knows nothing of Redis or
// leases; a caller that needs mutual exclusion across processes or hosts (the
// coordinator package) takes its lease and lock first and puts its fence check
// into the PreCommit hook that every mutating operation runs just before its
// visible change.
//
// # Guarantees
//
// Replacing a file (WriteFile, Create → Commit) writes a temp file in the
// target's own directory, named .<name>.sw.<host>.<pid>.<start>.<random>.tmp,
// created O_EXCL with mode 0600 and flocked by its writer for its whole life
// (so a sweeper can tell a live temp from an orphan). The data is hashed
// (sha256) as it is written; the final owner, mode and mtime are set through
// the descriptor; data and metadata are fsynced and the descriptor closed with
// its error checked (close reports NFS write-back failures); the PreCommit
// hooks run; the temp is renamed over the target; the directory is fsynced
// (fsync(2): syncing a file does not sync its directory entry). Readers see
// the old content or the new, never a mix; a crash at any moment leaves one of
// them (and at most an orphaned temp for Sweep).
//
// Every mutating call has exactly one of three outcomes:
//   - not committed: an error other than ErrDurabilityUnconfirmed. Nothing
//     visible changed; the temp and the directories the call created are
//     removed.
//   - committed: nil.
//   - committed, durability unconfirmed: the rename happened but the directory
//     fsync failed or was refused (EINVAL/ENOTSUP on some FUSE and CIFS
//     mounts). The error wraps ErrDurabilityUnconfirmed: the change is visible
//     but may not survive a crash. AcceptUnconfirmedDurability turns a refusal
//     into a warning. Never "nothing changed" after the rename.
//
// A rename that reports an error is checked against the filesystem before the
// outcome is decided: rename(2) BUGS notes that a retransmitted NFS rename can
// fail after it succeeded; when the temp is gone, it happened.
//
// CreateOnly commits with link(2) (or renameat2 RENAME_NOREPLACE on Linux when
// the filesystem has no hard links), so an existing file is never replaced and
// a lost race is ErrExist: the primitive for initialise-once.
//
// # Confinement
//
// Names are relative to the root and resolved through os.Root: an absolute
// name, a ".." component, a symlink that leaves the root or is absolute, and a
// symlink that dangles are ErrOutsideRoot; a final component that is such a
// symlink is refused, never replaced. A symlink inside the root is followed,
// so one file has one canonical name (Resolve). A directory, FIFO, socket or
// device where a regular file is expected is ErrNotRegular. A NUL in a name is
// ErrInvalidName. Names in errors are quoted and escaped, so a newline in a
// name cannot forge a log line. Nothing is created or changed outside the
// root, except the source of a Move, which the caller names explicitly.
//
// # Permissions
//
// perm applies to a new file minus the umask, as in os.WriteFile (on Linux
// the umask in force is read at each new file, from /proc/self/status;
// elsewhere it is read once per process, since reading it there means setting
// it, which races with other threads). A replaced file keeps its mode and, where the
// process may chown (root, or a group it belongs to), its owner and group,
// and on Linux its extended attributes with its access ACL (capabilities
// and IMA/EVM hashes excepted: they vouch for the old content; an SELinux
// label the process may not set is left as the policy gives it); a new file gets
// what its directory's default ACL gives. Mode forces a mode (and the
// replaced file's ACL is not copied); KeepMtime keeps the modification time. Move keeps the
// source's mode, owner, times and, on Linux, extended attributes and ACL,
// across filesystems too.
//
// # Errors
//
// Errors are *Error {Op, Path, Dst, Err}: the step, the root-relative path
// (quoted), and the cause, which unwraps to the sentinel errors below and to
// the syscall.Errno, so errors.Is(err, syscall.ENOSPC) works. IsTransient
// classifies errors worth retrying.
//
// # Caveats
//
//   - Atomicity is the filesystem's rename(2). Local filesystems and NFS give
//     it; readers on other NFS or sshfs clients can keep seeing the old
//     content for their attribute/lookup cache time, and ReadFile retries the
//     ESTALE/ENOENT a concurrent replace causes there.
//   - A temp on a filesystem without flock (ENOLCK, EOPNOTSUPP) is not locked;
//     a sweeper can then only judge it by its age. On sshfs and most FUSE
//     mounts a flock is visible only on the host that took it.
//   - A File is not safe for concurrent use; a Root is.
//
// # Platforms
//
// Linux is the reference. On macOS file and directory syncs use F_FULLFSYNC
// (plain fsync there leaves data in the drive's cache). On Windows: there is
// no flock on temps, no directory fsync (NTFS journals the rename; a crash
// right after a commit may still lose it), owners are not kept (no chown),
// a mode only sets or clears the read-only attribute, and create-only uses
// CreateHardLink semantics through os.Root.Link.
package writer
