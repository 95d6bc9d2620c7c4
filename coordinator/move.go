package coordinator

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/rootrel"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Move moves src (the caller's file, which may be outside the root: a spool)
// to dst inside the root: a rename, or across devices a hashed copy, a commit
// and the unlink of src. dst's lease is taken, and src's too when src is inside
// the root (both in sorted order). The commit is lease-aware and fenced as for
// WriteFile; src's record says deleted afterwards.
func (c *Coordinator) Move(ctx context.Context, src, dst string, opts ...writer.Option) (err error) {
	ctx, o := c.tel.startOp(ctx, "move", dst)
	outcome := OutcomeNotCommitted
	defer func() { o.end(ctx, outcome, err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return wrap("move", dst, err)
	}
	defer done()

	dkey, err := c.resolve(dst)
	if err != nil {
		return err
	}
	if c.metaBySpelling(src) {
		// Refused before it is resolved: a missing directory there would
		// otherwise be reported as such (ENOENT).
		return wrap("resolve", src, ErrMetadataName)
	}
	// From here on src is the path the kernel resolves it to, so that the
	// file hashed, moved and checked is the one its key was taken for.
	if src, err = writer.SourcePath(src); err != nil {
		return wrapW("move", dkey, err)
	}
	skey, inside, err := c.insideKey(src)
	if err != nil {
		return err
	}
	if inside && skey == dkey {
		return wrap("move", dkey, fmt.Errorf("the source %s is the destination; nothing moved: %w", quote.Name(src), syscall.EINVAL))
	}
	o.span.SetAttributes(AttrKey.String(dkey))
	leave, err := c.enterGate(ctx, "")
	if err != nil {
		return wrap("queue", dkey, err)
	}
	defer leave()

	keys := []string{dkey}
	if inside {
		keys = append(keys, skey)
		if skey < dkey {
			keys[0], keys[1] = skey, dkey
		}
	}
	hs := map[string]*held{}
	var all []*held
	release := func(vs map[string]*locking.Version) {
		for _, h := range all {
			if err := c.release(ctx, h, vs[h.key]); err != nil && vs[h.key] != nil {
				c.log.WarnContext(ctx, "committed, but the release failed", "key", quote.Value(h.key), "err", err)
			}
		}
	}
	for _, k := range keys {
		h, err := c.take(ctx, k)
		if err != nil {
			release(nil)
			return err
		}
		hs[k] = h
		all = append(all, h)
		if k == dkey {
			o.held(h)
		}
	}
	octx, stop := withLeases(ctx, all...)
	var dv, sv locking.Version
	hook := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
		sha, size := ch.SHA256, ch.Size
		if sha == ([32]byte{}) {
			var err error
			if sha, size, err = c.hashFile(src, ch.Temp); err != nil {
				return wrap("move hash", src, err)
			}
		}
		v := c.newVersion(hs[dkey], sha, size)
		if err := c.prepare(ctx, hs[dkey], &v); err != nil {
			return err
		}
		if inside {
			s := c.newVersion(hs[skey], [32]byte{}, 0)
			s.Deleted = true
			if err := c.prepare(ctx, hs[skey], &s); err != nil {
				return err
			}
			// The rename commits both keys: dst's lease must still have the
			// commit margin left now, after src's floor and pending write
			// (its fsync can take long), not only before it.
			if _, err := c.checkCommit(ctx, hs[dkey]); err != nil {
				return err
			}
			sv = s
		}
		dv = v
		return nil
	})
	err = func() error {
		defer func() {
			if p := recover(); p != nil {
				// A callback of the caller's panicked: the keys are released
				// as after a failed move (a rename that happened stays
				// pending for their next holder), and the panic goes on.
				stop()
				release(nil)
				panic(p)
			}
		}()
		return c.root.Move(octx, src, dkey, append(c.wopts(ctx, o, nil, nil, opts), hook)...)
	}()
	stop()
	visible := dv.Token != 0 && (err == nil || errors.Is(err, writer.ErrDurabilityUnconfirmed) || c.landed(ctx, dkey, dv))
	if !visible {
		err = c.leaseErr(ctx, wrapW("move", dkey, err), all...) // before the release ends the leases
		release(nil)
		return err
	}
	vs := map[string]*locking.Version{dkey: &dv}
	c.finish(ctx, hs[dkey], dv)
	if _, serr := os.Lstat(src); inside && errors.Is(serr, fs.ErrNotExist) {
		c.finish(ctx, hs[skey], sv)
		vs[skey] = &sv
	}
	release(vs)
	// Visible: committed (an error other than ErrDurabilityUnconfirmed says
	// the source was kept).
	outcome = OutcomeCommitted
	if errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		outcome = OutcomeUnconfirmed
	}
	return wrapW("move", dkey, err)
}

// landed reports whether dst now holds version v: a move whose writer
// reported an error after its hook (the source could not be removed after the
// destination was committed) has made a visible change, which must be
// recorded and reported as such.
func (c *Coordinator) landed(ctx context.Context, dst string, v locking.Version) bool {
	ct, err := c.root.ReadVersion(context.WithoutCancel(ctx), dst, writer.HashOnly())
	return err == nil && ct.Exists && ct.Size == v.Size && ct.SHA256 == v.SHA256
}

// insideKey reports whether the caller's path p (as writer.SourcePath
// returns it: absolute, its directory real) lies inside the root, and its
// key when it does. The decision is made on real directories, not on
// spelling: p's directory is compared with the root's real path, and then by
// device and inode with the root and each of its ancestors (a bind mount of
// the root has another path). p's final component is kept as named: it is
// the file that is moved, even when it is a symlink. The key is the
// canonical root-relative path.
func (c *Coordinator) insideKey(p string) (string, bool, error) {
	dir, base := filepath.Split(p)
	relDir, ok := c.relToRoot(filepath.Clean(dir))
	if !ok {
		return "", false, nil
	}
	key := path.Join(filepath.ToSlash(relDir), base)
	if isMetaKey(key) {
		return "", false, wrap("resolve", p, ErrMetadataName)
	}
	return key, true, nil
}

// metaBySpelling reports whether the caller's path p, read as spelled,
// names something in the root's metadata directory.
func (c *Coordinator) metaBySpelling(p string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		return false
	}
	for _, root := range []string{c.root.Dir(), c.realRootDir()} {
		if rel, ok := rootrel.Lexical(root, abs); ok && isMetaKey(filepath.ToSlash(rel)) {
			return true
		}
	}
	return false
}

// realRootDir is the root's path with symlinks resolved (as given when that
// fails).
func (c *Coordinator) realRootDir() string {
	if r, err := filepath.EvalSymlinks(c.root.Dir()); err == nil {
		return r
	}
	return c.root.Dir()
}

// relToRoot returns dir (a real, absolute path) relative to the root when it
// is the root or lies below it, also when seen through a bind mount of the
// root or of one of its directories (see rootrel.Dir; the writer's Move
// decides the same way whether its source is a file of the root).
func (c *Coordinator) relToRoot(dir string) (string, bool) {
	return rootrel.Dir(c.realRootDir(), dir)
}

// hashFile hashes the file a move is about to rename: temp (root-relative)
// when the writer names one, else src (the caller's path).
func (c *Coordinator) hashFile(src, temp string) ([32]byte, int64, error) {
	var f *os.File
	var err error
	if temp != "" && !filepath.IsAbs(temp) {
		f, err = c.root.OS().Open(temp)
	} else {
		f, err = os.Open(src)
	}
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}
