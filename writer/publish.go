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
)

// PublishDir publishes a new version of the directory name in one atomic
// switch, the way Kubernetes updates a mounted ConfigMap:
//
//  1. a new hidden directory .<name>.v<unix-nanoseconds> is created beside
//     name and fill is called with an OS path of it to populate it: on Linux
//     the path of an open handle (/proc/<pid>/fd/<n>), so that no directory
//     renamed or swapped for a symlink above it while fill runs can lead
//     fill's writes elsewhere (outside the root); the path is valid only
//     while fill runs;
//  2. every file and directory in it is fsynced;
//  3. a temp symlink (named like a temp file, so Sweep removes an orphan)
//     pointing at the new directory is renamed over name after the PreCommit
//     hook (Op "symlink", Temp the temp link), and the directory is fsynced;
//  4. versions older than the new one beyond the keep newest are removed
//     (the one name points to is never removed).
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
// fs.ErrExist and nothing is created. Its parent is resolved like any name
// (missing directories are created, and removed again when nothing is
// published). Calls publishing the same name must be serialised by the
// caller (the coordinator's lease does): a concurrent prune could remove a
// version another call is filling.
//
// On Windows creating a symlink needs SeCreateSymbolicLinkPrivilege (or
// developer mode); without it PublishDir fails before the swap.
//
// Outcomes as for WriteFile: nil; ErrDurabilityUnconfirmed when the switch is
// visible but its directory fsync was refused; any other error means name
// still points where it did (a rename that reports an error is checked: if
// name links to the new version, the swap is made) (a fill error is returned wrapped, and the new
// version removed). Pruning old versions comes after the switch: a version
// that cannot be removed is left for the next publish and reported only as
// an Observe event (Step "prune", with its error), since the publish is made.
func (r *Root) PublishDir(ctx context.Context, name string, fill func(dir string) error, keep int, opts ...Option) error {
	cfg := newConfig(opts)
	rel, err := r.resolveLinkName(name)
	if err != nil {
		return err
	}
	base, dir := path.Base(rel), dirOf(rel)
	stem := hiddenStem(base, len(".v")+20)
	if fi, err := r.root.Lstat(rel); err == nil {
		if !r.managedLink(rel, fi, stem) {
			return newError("publish", rel, fmt.Errorf("exists and is not a symlink made by PublishDir; refusing to replace it: %w", fs.ErrExist))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return newError("publish", rel, err)
	}
	created, err := r.mkdirAll(ctx, dir, 0o777, cfg)
	if err != nil {
		return err
	}
	var ver string
	for {
		ver = stem + ".v" + strconv.FormatInt(time.Now().UnixNano(), 10)
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
		_ = r.root.RemoveAll(verRel)
		r.rollbackDirs(created, cfg)
		return err
	}
	start := time.Now()
	fp, fillDone, err := r.fillPath(verRel)
	if err != nil {
		return undo(newError("publish: open", verRel, err))
	}
	err = fill(fp)
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
		_ = r.root.Remove(tmp)
		return undo(err)
	}
	start = time.Now()
	err = r.root.Rename(tmp, rel)
	cfg.emit("rename", rel, start, 0, err)
	if err != nil && !r.swapHappened(tmp, rel, ver) {
		_ = r.root.Remove(tmp)
		return undo(newError2("publish: rename", tmp, rel, err))
	}
	if err := r.syncDirs(cfg, rel, created); err != nil {
		return err
	}
	// The switch is made: an old version that cannot be removed now is only
	// clutter (the next publish prunes it again), never a reason to report
	// the publish as failed.
	start = time.Now()
	if err := r.pruneVersions(dir, stem, ver, keep); err != nil {
		cfg.emit("prune", dir, start, 0, err)
	}
	return nil
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
// .<name>.v<n> siblings PublishDir makes.
func (r *Root) managedLink(rel string, fi fs.FileInfo, stem string) bool {
	if fi.Mode()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := r.root.Readlink(rel)
	if err != nil {
		return false
	}
	_, ok := versionOf(target, stem)
	return ok
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
		err = fsyncFile(f)
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

// pruneVersions removes the versions of stem in dir that are older than cur,
// keeping the keep newest of them.
func (r *Root) pruneVersions(dir, stem, cur string, keep int) error {
	curN, _ := versionOf(cur, stem)
	d, err := r.root.Open(dir)
	if err != nil {
		return newError("publish: prune", dir, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return newError("publish: prune", dir, err)
	}
	var old []int64
	for _, n := range names {
		v, ok := versionOf(n, stem)
		if !ok || v >= curN {
			continue
		}
		// A version is a directory PublishDir made; a file or symlink of
		// such a name is someone's data, never pruned.
		if fi, err := r.root.Lstat(path.Join(dir, n)); err != nil || !fi.IsDir() {
			continue
		}
		old = append(old, v)
	}
	slices.Sort(old)
	var errs []error
	for i := 0; i < len(old)-max(keep, 0); i++ {
		p := path.Join(dir, stem+".v"+strconv.FormatInt(old[i], 10))
		if err := r.root.RemoveAll(p); err != nil {
			errs = append(errs, newError("publish: prune", p, err))
		}
	}
	return errors.Join(errs...)
}
