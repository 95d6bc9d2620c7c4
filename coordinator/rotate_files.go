package coordinator

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/writer"
)

// RotatedFile is one rotated file of a log.
type RotatedFile struct {
	Name  string // relative to the root
	Time  time.Time
	Token uint64
	Gzip  bool
}

// parseRotated parses base.<time>.<token>[.gz] (base: the live file's base
// name) and reports whether entry is a rotated file of base.
func parseRotated(base, entry string) (RotatedFile, bool) {
	rest, ok := strings.CutPrefix(entry, base+".")
	if !ok {
		return RotatedFile{}, false
	}
	rf := RotatedFile{}
	rest, rf.Gzip = strings.CutSuffix(rest, ".gz")
	if len(rest) < len(rotatedTimeFormat)+2 || rest[len(rotatedTimeFormat)] != '.' {
		return RotatedFile{}, false
	}
	t, err := time.Parse(rotatedTimeFormat, rest[:len(rotatedTimeFormat)])
	if err != nil {
		return RotatedFile{}, false
	}
	tok, err := strconv.ParseUint(rest[len(rotatedTimeFormat)+1:], 10, 64)
	if err != nil {
		return RotatedFile{}, false
	}
	rf.Time, rf.Token = t, tok
	return rf, true
}

// RotatedFiles lists name's rotated files in rotation order, oldest first (a rotation that is
// both plain and compressed, while being compressed, is listed twice). Only
// regular files are listed: anything else under a rotated name (a symlink, a
// directory) is no rotation's, and a name that cannot be stat'ed is skipped
// with a warning in the coordinator's log.
func (c *Coordinator) RotatedFiles(name string) ([]RotatedFile, error) {
	_, done, err := c.begin(context.Background())
	if err != nil {
		return nil, wrap("list rotated files", name, err)
	}
	defer done()
	key, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	return c.listRotated(key)
}

func (c *Coordinator) listRotated(key string) ([]RotatedFile, error) {
	dir, base := path.Split(key)
	if dir == "" {
		dir = "."
	}
	d, err := c.root.OS().Open(path.Clean(dir))
	if err != nil {
		return nil, wrap("open directory", dir, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, wrap("list directory", dir, err)
	}
	var out []RotatedFile
	for _, n := range names {
		rf, ok := parseRotated(base, n)
		if !ok {
			continue
		}
		rf.Name = path.Join(dir, n)
		// Only regular files: a rotation makes nothing else, and the
		// removal and compression of a symlink under a rotated name would
		// resolve it, to another file of the root. A name that cannot be
		// stat'ed (EACCES on a stray entry, ESTALE on NFS) is skipped, not
		// the listing failed: it holds up neither the others' pruning nor
		// their compression.
		fi, err := c.root.OS().Lstat(rf.Name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // pruned meanwhile
		case err != nil:
			c.log.Warn("rotated file skipped: not stat'ed", "name", quote.Value(rf.Name), "err", err)
			continue
		case !fi.Mode().IsRegular():
			continue
		}
		out = append(out, rf)
	}
	// In rotation order: by token (each rotation's is above the one
	// before), then time. The time alone is the rotating host's clock, and
	// one running ahead would make an older rotation look newer.
	slices.SortFunc(out, func(a, b RotatedFile) int {
		return cmp.Or(cmp.Compare(a.Token, b.Token), a.Time.Compare(b.Time), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// pruneRotated removes rotated files beyond the keep most recent rotations
// (keep 0: no count limit) and those rotated before now-maxAge (maxAge 0: no
// age limit). It returns what it removed; a file another pruner removed first
// is not an error.
func (c *Coordinator) pruneRotated(ctx context.Context, key string, keep int, maxAge time.Duration, now time.Time) ([]string, error) {
	if keep <= 0 && maxAge <= 0 {
		return nil, nil
	}
	files, err := c.listRotated(key)
	if err != nil {
		return nil, err
	}
	// Count rotations, not files: a rotation may be plain and .gz for a moment.
	type rot struct {
		t   time.Time
		tok uint64
	}
	var rots []rot
	for _, f := range files {
		r := rot{f.Time, f.Token}
		if !slices.Contains(rots, r) {
			rots = append(rots, r)
		}
	}
	drop := map[rot]bool{}
	for i, r := range rots {
		if keep > 0 && i < len(rots)-keep {
			drop[r] = true
		}
		if maxAge > 0 && now.Sub(r.t) > maxAge {
			drop[r] = true
		}
	}
	var removed []string
	var errs []error
	for _, f := range files {
		if !drop[rot{f.Time, f.Token}] {
			continue
		}
		err := c.root.Remove(ctx, f.Name)
		switch {
		case err == nil:
			removed = append(removed, f.Name)
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, wrap("remove rotated", f.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}

// gzipRotated compresses rel into rel.gz: into a temp, verified by reading the
// temp back and comparing its decompressed sha256 and size with the plain
// file's, published create-only, and only then is rel removed. When another
// process published rel.gz first, that one is verified instead.
func (c *Coordinator) gzipRotated(ctx context.Context, rel string) (string, error) {
	r := c.root.OS()
	gz := rel + ".gz"
	src, err := r.Open(rel)
	if err != nil {
		return "", wrap("gzip: open", rel, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return "", wrap("gzip: stat", rel, err)
	}
	wf, err := c.root.Create(ctx, gz, fi.Mode().Perm(), c.logWopts(ctx, nil, writer.CreateOnly())...)
	if errors.Is(err, writer.ErrExist) {
		return gz, c.finishGzip(ctx, rel, gz)
	}
	if err != nil {
		return "", wrap("gzip: create", gz, err)
	}
	// The .gz grants what the rotated file grants: its mode, owner, access
	// ACL and extended attributes.
	wf.CopyMetaFrom(src)
	sum := sha256.New()
	zw := gzip.NewWriter(wf)
	n, err := io.Copy(zw, io.TeeReader(ctxReader{ctx, src}, sum))
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = verifyGzip(c, wf.TempName(), sum.Sum(nil), n)
	}
	if err != nil {
		wf.Abort() //nolint:errcheck // the first error matters
		return "", wrap("gzip", gz, err)
	}
	err = wf.Commit(ctx)
	if errors.Is(err, writer.ErrExist) {
		return gz, c.finishGzip(ctx, rel, gz)
	}
	if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		return "", wrap("gzip: publish", gz, err)
	}
	if err := c.root.Remove(ctx, rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return gz, wrap("gzip: remove the plain rotated file", rel, err)
	}
	return gz, nil
}

// finishGzip removes the plain rel once the published gz verifies against it.
func (c *Coordinator) finishGzip(ctx context.Context, rel, gz string) error {
	src, err := c.root.OS().Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed by whoever published gz
	}
	if err != nil {
		return wrap("gzip: open", rel, err)
	}
	sum := sha256.New()
	n, err := io.Copy(sum, src)
	src.Close()
	if err != nil {
		return wrap("gzip: read", rel, err)
	}
	if err := verifyGzip(c, gz, sum.Sum(nil), n); err != nil {
		return wrap("gzip: verify the published file", gz, err)
	}
	if err := c.root.Remove(ctx, rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap("gzip: remove the plain rotated file", rel, err)
	}
	return nil
}

// verifyGzip reads rel (a gzip file) back and compares its content with the
// sha256 and size of the plain file.
func verifyGzip(c *Coordinator, rel string, want []byte, size int64) error {
	f, err := c.root.OS().Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("verify %s: %w", quote.Name(rel), err)
	}
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, zr)
	if err != nil {
		return fmt.Errorf("verify %s: %w", quote.Name(rel), err)
	}
	if n != size || !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("verify %s: decompressed %d bytes do not match the %d-byte rotated file", quote.Name(rel), n, size)
	}
	return nil
}
