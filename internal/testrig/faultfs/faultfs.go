//go:build linux

// Package faultfs is a FUSE loopback filesystem that injects faults: a test
// mounts it over a backing directory, points the code under test at the mount
// point, and makes chosen operations fail (EIO or ENOSPC on the Nth write, EIO
// on fsync, EINVAL on a directory fsync, EXDEV on rename, ESTALE on open, a
// rename that happens but reports an error, added latency). Faults can be
// changed while the filesystem is in use, and can be limited to some paths.
//
// It is built on github.com/hanwen/go-fuse/v2: a fs.LoopbackRoot whose nodes,
// file handles and directory handles are wrapped. The errno a fault returns
// reaches the caller's system call unchanged, with one exception the kernel
// makes: an open(2) that gets ESTALE is retried once by the VFS (with
// LOOKUP_REVAL), so a caller sees ESTALE only when two opens in a row fail.
//
// Locks: without Options.Locks the kernel keeps flock(2) and fcntl(2) locks
// itself, on the FUSE inode: they work between processes using this one mount
// but are invisible to another mount of the same backing directory (as on
// sshfs). With Options.Locks the mount is made with
// fuse.MountOptions.EnableLocks, which makes the kernel send the locks to the
// filesystem (FUSE_SETLK/SETLKW/GETLK); the loopback files apply them to their
// backing descriptors, so two mounts of one backing directory share them (as
// on a filesystem with working remote locks).
//
// Like go-fuse's loopback, it works on backing paths: the kernel sends
// fchmod, fchown and futimens without the file handle, so on a file whose
// name is gone (unlinked, or renamed behind the mount's back) they fail with
// ENOENT, where a local filesystem would succeed.
//
// Passthrough (FUSE_PASSTHROUGH, Linux 6.9+) is disabled, because it would let
// reads and writes bypass the filesystem and so the faults.
package faultfs

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"golang.org/x/sys/unix"
)

// Op names an operation the filesystem serves.
type Op string

// The operations that are counted and can be made to fail. OpAny matches
// every operation (useful with Fault.Delay).
const (
	OpAny      Op = ""
	OpLookup   Op = "lookup"
	OpOpen     Op = "open" // FUSE_OPEN: open(2) of an existing file
	OpCreate   Op = "create"
	OpRead     Op = "read"
	OpWrite    Op = "write" // FUSE_WRITE and copy_file_range into the file
	OpFlush    Op = "flush" // sent on every close(2); its error is close's error
	OpFsync    Op = "fsync"
	OpFsyncDir Op = "fsyncdir"
	OpOpendir  Op = "opendir"
	OpRename   Op = "rename" // the path of a rename matches if its source or its target does
	OpLink     Op = "link"
	OpUnlink   Op = "unlink"
	OpMkdir    Op = "mkdir"
	OpRmdir    Op = "rmdir"
	OpSymlink  Op = "symlink"
)

// Fault is one injection rule. Each matching operation is numbered from 1
// (per rule, counted from when the rule was set); the rule fires on the
// operations numbered Skip+1 to Skip+Count (Count 0: every one after Skip).
// When it fires it sleeps Delay, then, if Errno is not 0, fails the operation
// with Errno — without doing it, or with After, after doing it.
//
// Examples: EIO on the 3rd write: {Op: OpWrite, Errno: EIO, Skip: 2, Count: 1};
// ENOSPC on every write after the 2nd: {Op: OpWrite, Errno: ENOSPC, Skip: 2};
// a rename that succeeds but reports EIO: {Op: OpRename, Errno: EIO, After: true}.
type Fault struct {
	Op    Op
	Errno syscall.Errno
	Skip  int
	Count int
	// Glob limits the rule to paths (relative to the mount point, "." for
	// the root) matching it with path.Match; a pattern without '/' is
	// matched against the last element only.
	Glob string
	// Match, if set, further limits the rule to paths it accepts. It is
	// called with the filesystem's lock held (so it must not call the FS's
	// methods), from the goroutines serving the mount.
	Match func(rel string) bool
	After bool
	Delay time.Duration
}

// Options configure a mount.
type Options struct {
	// Backing is the directory served; empty means a new t.TempDir(). Two
	// mounts may share one backing directory.
	Backing string
	// Locks forwards flock/fcntl locks to the backing files (see the package
	// documentation).
	Locks bool
	// Debug logs every FUSE request.
	Debug bool
	// NoXattrs makes the filesystem keep no extended attributes, as sshfs:
	// their calls fail with ENOTSUP.
	NoXattrs bool
}

// FS is a mounted fault-injecting filesystem. Its methods are safe for
// concurrent use, also while operations are in flight.
type FS struct {
	// Dir is the mount point: the path the code under test uses.
	Dir string
	// Backing is the directory whose content the mount shows.
	Backing string

	server   *fuse.Server
	noXattrs bool

	mu       sync.Mutex
	rules    []*rule
	seen     map[Op]int
	injected map[Op]int
	datasync map[string]int
	unmount  sync.Once
}

type rule struct {
	Fault
	n int
}

// Mount mounts a new fault filesystem and unmounts it on cleanup. It needs
// root (or the test is skipped, see testrig.Unavailable).
func Mount(t testing.TB, opts Options) *FS {
	t.Helper()
	testrig.NeedRoot(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		testrig.Unavailable(t, "no /dev/fuse: "+err.Error())
	}
	backing := opts.Backing
	if backing == "" {
		backing = t.TempDir()
	}
	f := &FS{
		Dir:      t.TempDir(),
		Backing:  backing,
		noXattrs: opts.NoXattrs,
		seen:     map[Op]int{},
		datasync: map[string]int{},
		injected: map[Op]int{},
	}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		t.Fatalf("faultfs: stat backing %s: %v", backing, err)
	}
	lr := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	lr.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, rig: f}
	}
	lr.RootNode = lr.NewNode(lr, nil, "", &st)

	// Zero timeouts: every lookup and getattr reaches the backing directory,
	// so changes made there or through another mount are seen at once.
	zero := time.Duration(0)
	server, err := fs.Mount(f.Dir, lr.RootNode, &fs.Options{
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			AllowOther:  true,
			FsName:      "faultfs:" + backing,
			Name:        "faultfs",
			DirectMount: true,
			EnableLocks: opts.Locks,
			Debug:       opts.Debug,
		},
	})
	if err != nil {
		testrig.Unavailable(t, fmt.Sprintf("mount faultfs on %s: %v", f.Dir, err))
	}
	f.server = server
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Errorf("faultfs: %v", err)
		}
	})
	return f
}

// Unmount unmounts the filesystem (also done on cleanup; a second call is a
// no-op). A busy mount is detached lazily.
func (f *FS) Unmount() error {
	var err error
	f.unmount.Do(func() {
		f.Clear()
		if err = f.server.Unmount(); err != nil {
			// Still busy (a descriptor left open): detach it so the test
			// can end; the kernel finishes once the last user is gone.
			out, err2 := exec.Command("fusermount3", "-u", "-z", f.Dir).CombinedOutput()
			if err2 != nil {
				if err3 := unix.Unmount(f.Dir, unix.MNT_DETACH); err3 != nil {
					err = fmt.Errorf("unmount %s: %v; fusermount3 -u -z: %v %s; umount -l: %v", f.Dir, err, err2, out, err3)
					return
				}
			}
			// The server keeps serving the detached mount until its last
			// descriptor is closed; waiting for it here could deadlock.
			err = nil
			return
		}
		f.server.Wait()
	})
	return err
}

// Set replaces all rules with faults, their counters starting from zero.
func (f *FS) Set(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = f.rules[:0]
	for _, ft := range faults {
		f.rules = append(f.rules, &rule{Fault: ft})
	}
}

// Add adds one rule, keeping the others.
func (f *FS) Add(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{Fault: ft})
}

// Clear removes all rules: the filesystem is a plain loopback again.
func (f *FS) Clear() { f.Set() }

// Count returns how many operations of kind op the filesystem has served
// since it was mounted (OpAny: all of them).
func (f *FS) Count(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == OpAny {
		total := 0
		for _, n := range f.seen {
			total += n
		}
		return total
	}
	return f.seen[op]
}

// DataSyncs returns how many of the fsync requests for rel (a path relative
// to the mount) asked for the data only: fdatasync(2).
func (f *FS) DataSyncs(rel string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.datasync[path.Clean(rel)]
}

// Injected returns how many operations of kind op a rule has failed
// (OpAny: all of them).
func (f *FS) Injected(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == OpAny {
		total := 0
		for _, n := range f.injected {
			total += n
		}
		return total
	}
	return f.injected[op]
}

// Backed returns the backing path of rel, a path relative to the mount.
func (f *FS) Backed(rel string) string { return path.Join(f.Backing, rel) }

// verdict is what the rules decided for one operation.
type verdict struct {
	errno syscall.Errno
	after bool
}

// check counts one operation on the given paths, applies the delays of the
// rules that fire and returns the first errno among them.
func (f *FS) check(op Op, paths ...string) verdict {
	var (
		v     verdict
		delay time.Duration
	)
	f.mu.Lock()
	f.seen[op]++
	for _, r := range f.rules {
		if r.Op != OpAny && r.Op != op || !r.matches(paths) {
			continue
		}
		r.n++
		if r.n <= r.Skip || r.Count > 0 && r.n > r.Skip+r.Count {
			continue
		}
		delay += r.Delay
		if v.errno == 0 && r.Errno != 0 {
			v = verdict{errno: r.Errno, after: r.After}
			f.injected[op]++
		}
	}
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	return v
}

func (r *rule) matches(paths []string) bool {
	for _, p := range paths {
		if r.matchOne(p) {
			return true
		}
	}
	return false
}

func (r *rule) matchOne(p string) bool {
	if r.Glob != "" {
		subject := p
		if !containsSlash(r.Glob) {
			subject = path.Base(p)
		}
		if ok, err := path.Match(r.Glob, subject); err != nil || !ok {
			return false
		}
	}
	return r.Match == nil || r.Match(p)
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
