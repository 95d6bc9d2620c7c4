package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// PublishDir publishes a new version of the directory name in one atomic
// switch, the way Kubernetes updates a mounted ConfigMap:
//
//  1. a new hidden directory .<name>.v<n> is created beside name (n: the
//     time in Unix nanoseconds, or past the highest version there when that
//     is later, so the new version is always the newest) and fill is
//     called with an OS path of it to populate it: on Linux the path of an
//     open handle (/proc/<pid>/fd/<n>), so that no directory renamed or
//     swapped for a symlink above it while fill runs can lead fill's writes
//     elsewhere (outside the root); the path is valid only while fill runs;
//  2. every file and directory in it is fsynced;
//  3. a temp symlink (named like a temp file, so Sweep removes an orphan)
//     pointing at the new directory is renamed over name after the PreCommit
//     hook (Op "symlink", Temp the temp link), and the directory is fsynced;
//  4. older versions beyond keep are removed: keep counts first the one
//     name pointed to before the switch (a reader may still be in it), then
//     the newest of the others (the one name points to is never removed).
//     A mount point in a version (a directory mounted there since) is not
//     entered: it and the directories above it are left.
//
// A reader that opens name (or a path through it) gets one whole version:
// files of one version never mix with another's, as long as the reader opens
// the version directory once (for example by resolving name first) and reads
// the files relative to it. A reader still inside a pruned version sees
// ENOENT for files it had not opened yet; a larger keep gives slow readers
// time.
//
// name must be absent or a symlink that PublishDir made (pointing at one of
// its .<name>.v<n> siblings); anything else is refused with an *Error wrapping
// fs.ErrExist and nothing is created. It is checked again at the switch:
// something another program put at name while fill ran is not replaced
// (renameat2 RENAME_NOREPLACE, or RENAME_EXCHANGE and a check of what was
// swapped out, where the filesystem has them; a check just before the
// rename elsewhere), and the publish is refused the same way. Its parent is
// resolved like any name (missing directories are created, and removed again
// when nothing is published). Calls publishing the same name must be
// serialised by the caller (the coordinator's lease does): a concurrent prune
// could remove a version another call is filling.
//
// On Windows creating a symlink needs SeCreateSymbolicLinkPrivilege (or
// developer mode); without it PublishDir fails before the swap.
//
// Outcomes as for WriteFile: nil; ErrDurabilityUnconfirmed when the switch is
// visible but its directory fsync was refused; any other error means name
// still points where it did, and the new version is removed (a fill error is
// returned wrapped; a rename that reports an error is checked: if name links
// to the new version, the swap is made). The one exception: an exchange with
// something another program put at name that could not be undone is an
// error naming where that thing now is, and name links to the new version.
// Pruning old versions comes after the switch: a version that cannot be
// removed is left for the next publish and reported only as an Observe event
// (Step "prune", with its error), since the publish is made.
func (r *Root) PublishDir(ctx context.Context, name string, fill func(dir string) error, keep int, opts ...Option) (err error) {
	defer rethrow(&err)
	if err := ctx.Err(); err != nil {
		return newError("publish", name, context.Cause(ctx))
	}
	cfg := newConfig(opts)
	rel, err := r.resolveLinkName(name)
	if err != nil {
		return err
	}
	base, dir := path.Base(rel), dirOf(rel)
	stem := hiddenStem(base, len(".v")+20)
	prev := "" // the version name links to; "" when name is absent
	if fi, err := r.root.Lstat(rel); err == nil {
		var ok bool
		if prev, ok = r.managedLink(rel, fi, stem); !ok {
			return newError("publish", rel, errNotManaged)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return newError("publish", rel, err)
	}
	created, err := r.mkdirAll(ctx, dir, 0o777, cfg)
	if err != nil {
		return err
	}
	// Numbered past every version there (a host whose clock is ahead made
	// one): the new version is the newest, and prune counts from it.
	num := time.Now().UnixNano()
	if hi, err := r.highestVersion(dir, stem); err == nil && hi >= num {
		num = hi + 1
	}
	var ver string
	for ; ; num++ {
		ver = stem + ".v" + strconv.FormatInt(num, 10)
		err = r.root.Mkdir(path.Join(dir, ver), 0o755)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	verRel := path.Join(dir, ver)
	if err != nil {
		r.rollbackDirs(created, cfg)
		return newError("publish: mkdir", verRel, err)
	}
	undo := func(err error) error {
		_ = r.removeTree(verRel)
		r.rollbackDirs(created, cfg)
		return err
	}
	start := time.Now()
	fp, fillDone, err := r.fillPath(verRel)
	if err != nil {
		return undo(newError("publish: open", verRel, err))
	}
	err = fillRecovering(fp, fill, func() { fillDone(); undo(nil) })
	fillDone()
	if err != nil {
		return undo(newError("publish: fill", verRel, err))
	}
	if err := ctx.Err(); err != nil {
		return undo(newError("publish", verRel, context.Cause(ctx)))
	}
	n, err := r.syncTree(verRel)
	cfg.emit("fsync", verRel, start, n, err)
	if err != nil {
		return undo(err)
	}

	tmp := path.Join(dir, newTempBase(base))
	if err := r.root.Symlink(ver, tmp); err != nil {
		return undo(newError("publish: symlink", tmp, err))
	}
	if err := cfg.runPreCommit(ctx, Change{Op: "symlink", Name: rel, Temp: tmp}); err != nil {
		r.removeOwnLink(tmp, ver)
		return undo(err)
	}
	start = time.Now()
	err = r.swapLink(tmp, rel, stem, ver, prev != "")
	cfg.emit("rename", rel, start, 0, err)
	if err != nil {
		var pe *Error
		switch {
		case errors.Is(err, errSwapStuck):
			return err // name links to the new version: it stays
		case errors.As(err, &pe):
			// Refused: name is no longer what it was.
			r.removeOwnLink(tmp, ver)
			return undo(err)
		}
		if !r.swapHappened(tmp, rel, ver) {
			r.removeOwnLink(tmp, ver)
			return undo(newError2("publish: rename", tmp, rel, err))
		}
	}
	if err := r.syncDirs(cfg, rel, created); err != nil {
		return err
	}
	// The switch is made: an old version that cannot be removed now is only
	// clutter (the next publish prunes it again), never a reason to report
	// the publish as failed.
	start = time.Now()
	if err := r.pruneVersions(dir, stem, ver, prev, keep); err != nil {
		cfg.emit("prune", dir, start, 0, err)
	}
	return nil
}

// errNotManaged refuses to replace a name that is not a link PublishDir made.
var errNotManaged = fmt.Errorf("exists and is not a symlink made by PublishDir; refusing to replace it: %w", fs.ErrExist)

// errSwapStuck: the swap of something another program put at the name was
// made and could not be undone.
var errSwapStuck = errors.New("replaced something that is not a PublishDir link and could not put it back")

// swapLink puts the temp link tmp (to version ver) in rel's place: when rel was absent, only
// while it still is (renameat2 RENAME_NOREPLACE); when it was a link
// PublishDir made, only while it still is one (RENAME_EXCHANGE, then the
// entry swapped out is checked and the swap undone when it is anything
// else). Something another program put at rel while the version was filled
// is never replaced: an *Error wrapping fs.ErrExist. Where the system (or
// the filesystem) has neither flag, rel is checked again just before a
// plain rename. Any other error is the rename's.
func (r *Root) swapLink(tmp, rel, stem, ver string, wasLink bool) error {
	refuse := func() error { return newError("publish", rel, errNotManaged) }
	if !wasLink {
		err := r.renameNoReplace(tmp, rel)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrExist):
			return refuse()
		case !renameFlagsUnsupported(err):
			return err
		}
		if _, err := r.root.Lstat(rel); !errors.Is(err, fs.ErrNotExist) {
			return refuse()
		}
		return r.root.Rename(tmp, rel)
	}
	err := r.renameExchange(tmp, rel)
	if err != nil && !renameFlagsUnsupported(err) {
		// An exchange that reports an error may have happened all the same
		// (rename(2) BUGS): then name links to the new version.
		if target, lerr := r.root.Readlink(rel); lerr == nil && target == ver {
			err = nil
		}
	}
	switch {
	case err == nil:
		// tmp now names what rel named.
		fi, lerr := r.root.Lstat(tmp)
		if lerr == nil {
			if _, ok := r.managedLink(tmp, fi, stem); ok {
				_ = r.root.Remove(tmp)
				return nil
			}
			_, lerr = r.root.Lstat(tmp) // removed before its Readlink: as below
		}
		if errors.Is(lerr, fs.ErrNotExist) {
			// What was swapped out is gone already: a concurrent Sweep
			// (another replica's clean) holds no lock of the name and takes
			// the old link, whose mtime is the old publish's, for a stale
			// publish temp. Nothing is left to put back; the switch is made.
			if target, err := r.root.Readlink(rel); err == nil && target == ver {
				return nil
			}
		}
		if xerr := r.renameExchange(tmp, rel); xerr != nil {
			return newError2("publish: undo the swap", tmp, rel, fmt.Errorf("%w: %w (what was at %s is now at %s)", errSwapStuck, xerr, quote.Name(rel), quote.Name(tmp)))
		}
		return refuse()
	case errors.Is(err, fs.ErrNotExist):
		// rel, or the temp link, was removed by someone else meanwhile.
		return newError2("publish: swap", tmp, rel, fmt.Errorf("the name or the temp link was removed during the publish; nothing published: %w", err))
	case !renameFlagsUnsupported(err):
		return err
	}
	if fi, err := r.root.Lstat(rel); err != nil {
		return refuse()
	} else if _, ok := r.managedLink(rel, fi, stem); !ok {
		return refuse()
	}
	return r.root.Rename(tmp, rel)
}

// renameFlagsUnsupported reports whether a renameat2 with flags failed only
// because the system or the filesystem does not have them.
func renameFlagsUnsupported(err error) bool {
	return errors.Is(err, errNoRenameNoReplace) || isErrno(err, syscall.EINVAL, syscall.ENOSYS, syscall.ENOTSUP, syscall.EOPNOTSUPP)
}

// removeOwnLink removes the temp link tmp if it still links to ver.
func (r *Root) removeOwnLink(tmp, ver string) {
	if target, err := r.root.Readlink(tmp); err == nil && target == ver {
		_ = r.root.Remove(tmp)
	}
}

// swapHappened decides, after the rename of the temp link tmp over rel
// reported an error, whether it took effect anyway (a retransmitted rename on
// a network filesystem, rename(2) BUGS): tmp is gone and rel links to ver.
func (r *Root) swapHappened(tmp, rel, ver string) bool {
	if _, err := r.root.Lstat(tmp); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	target, err := r.root.Readlink(rel)
	return err == nil && target == ver
}

// resolveLinkName resolves the parent of name and keeps its final component
// as named (it is a symlink PublishDir manages, which Resolve would follow).
func (r *Root) resolveLinkName(name string) (string, error) {
	parts := slices.DeleteFunc(splitName(name), func(s string) bool { return s == "" || s == "." })
	switch {
	case name == "" || strings.IndexByte(name, 0) >= 0:
		return "", newError("resolve", name, withCause(ErrInvalidName, errors.New("empty name or NUL in name")))
	case isAbs(name) || slices.Contains(parts, ".."):
		return "", newError("resolve", name, withCause(ErrOutsideRoot, errors.New(`absolute name or ".." in name`)))
	case len(parts) == 0:
		return "", newError("resolve", name, withCause(ErrInvalidName, errors.New("names the root itself")))
	}
	base := parts[len(parts)-1]
	if len(parts) == 1 {
		return base, nil
	}
	dir, fi, err := r.resolve(strings.Join(parts[:len(parts)-1], "/"))
	if err != nil {
		return "", err
	}
	if fi != nil && !fi.IsDir() {
		return "", newError("resolve", dir, syscall.ENOTDIR)
	}
	return path.Join(dir, base), nil
}

// managedLink reports whether rel (Lstat fi) is a symlink to one of the
// .<name>.v<n> siblings PublishDir makes, and returns that sibling's name.
func (r *Root) managedLink(rel string, fi fs.FileInfo, stem string) (string, bool) {
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, err := r.root.Readlink(rel)
	if err != nil {
		return "", false
	}
	_, ok := versionOf(target, stem)
	return target, ok
}

// versionOf parses "<stem>.v<n>" and returns n.
func versionOf(name, stem string) (int64, bool) {
	s, ok := strings.CutPrefix(name, stem+".v")
	if !ok || s == "" || strings.ContainsAny(s, "/\\") {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	// Only the name PublishDir gives: plain digits, no sign, no leading
	// zero ("+5" or "007" would be pruned as ".v5", ".v7": other names).
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

// syncTree fsyncs every regular file and directory under rel (symlinks are
// not followed), directories after their entries, and returns the bytes of
// the files it synced.
func (r *Root) syncTree(rel string) (int64, error) {
	var total int64
	var dirs []string
	err := fs.WalkDir(r.root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		case !d.Type().IsRegular():
			return nil
		}
		f, err := r.root.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
		if err != nil {
			return err
		}
		err = syncOpened(f, func() (*os.File, error) { return r.root.OpenFile(p, os.O_WRONLY|oNoFollow, 0) })
		if fi, serr := f.Stat(); serr == nil {
			total += fi.Size()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return total, newError("publish: fsync", rel, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := r.syncDir(dirs[i]); err != nil {
			return total, newError("publish: fsync directory", dirs[i], err)
		}
	}
	return total, nil
}

// versionDirs returns the numbers of the version directories of stem in dir
// (a file or symlink of such a name is someone's data, never a version).
func (r *Root) versionDirs(dir, stem string) ([]int64, error) {
	d, err := r.root.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, n := range names {
		v, ok := versionOf(n, stem)
		if !ok {
			continue
		}
		if fi, err := r.root.Lstat(path.Join(dir, n)); err != nil || !fi.IsDir() {
			continue
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs, nil
}

// highestVersion returns the highest version number of stem in dir.
func (r *Root) highestVersion(dir, stem string) (int64, error) {
	vs, err := r.versionDirs(dir, stem)
	if err != nil || len(vs) == 0 {
		return -1, err
	}
	return vs[len(vs)-1], nil
}

// pruneVersions removes the versions of stem in dir that are older than cur,
// keeping keep of them: first prev, the version name linked to before cur
// (a reader may still be in it), then the newest of the others (a version
// never published, left by a crash, counts like any).
func (r *Root) pruneVersions(dir, stem, cur, prev string, keep int) error {
	curN, _ := versionOf(cur, stem)
	prevN, hasPrev := versionOf(prev, stem)
	vs, err := r.versionDirs(dir, stem)
	if err != nil {
		return newError("publish: prune", dir, err)
	}
	old := slices.DeleteFunc(vs, func(v int64) bool { return v >= curN || (hasPrev && v == prevN) })
	kept := max(keep, 0)
	if hasPrev && kept > 0 && prevN < curN {
		kept--
	} else if hasPrev && prevN < curN {
		old = append(old, prevN) // keep 0: prev goes too (first)
		slices.Sort(old)
	}
	var errs []error
	for i := 0; i < len(old)-kept; i++ {
		p := path.Join(dir, stem+".v"+strconv.FormatInt(old[i], 10))
		if err := r.removeTree(p); err != nil {
			errs = append(errs, newError("publish: prune", p, err))
		}
	}
	return joinLine(errs...)
}

// fillRecovering runs fill(dir); when fill panics it runs cleanup (the undo
// of the version directory and the directories made for it, as for a fill
// that fails) and panics on.
func fillRecovering(dir string, fill func(string) error, cleanup func()) error {
	defer func() {
		if p := recover(); p != nil {
			cleanup()
			panic(p)
		}
	}()
	return fill(dir)
}
