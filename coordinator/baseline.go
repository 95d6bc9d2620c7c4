package coordinator

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A baseline is what a key with no committed version held before its first
// commit, written as the committed version with token 0 together with that
// commit's pending version: the file absent (deleted set), or its content
// (sha256 and size). Without it a fresh read of a key whose first commit
// died or failed before its rename has only the pending version to go by:
// the file, as it was, matches nothing and is taken for a stale view (waited
// out through the whole window, then refused or adopted with a warning).
// With it that file matches the baseline at once, and a file showing the
// pending version still promotes it. Builds that predate it skip a
// committed version with token 0, as before.

// baselineMax is the largest existing file hashed for a baseline; a larger
// one gets none (its first commit dying before the rename then costs the next
// reader the stale-view window, as without a baseline).
const baselineMax = 64 << 20

// isBaseline reports whether v is a baseline rather than a committed version
// or no version at all.
func isBaseline(v locking.Version) bool {
	return v.Token == 0 && (v.Deleted || v.SHA256 != [32]byte{})
}

// writeBaseline writes key's baseline as its committed version when the
// record has no committed version (cur) and the baseline differs from cur:
// the file as it is now, under the held lock, before this commit's pending
// version. The pending write's fsync that follows makes it durable. A file
// that cannot be hashed here leaves cur as it is.
func (c *Coordinator) writeBaseline(h *held, cur locking.Version) error {
	b, ok := c.baseline(h.key)
	if !ok || sameVersion(b, cur) {
		return nil
	}
	if err := h.fl.WriteCommitted(b); err != nil {
		return wrap("write baseline", h.key, err)
	}
	return nil
}

// baseline returns key's file as a baseline version; false when it is not a
// regular file, is larger than baselineMax or cannot be read.
func (c *Coordinator) baseline(key string) (locking.Version, bool) {
	f, err := c.root.OS().OpenFile(key, os.O_RDONLY|oNofollow|oNonblock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return locking.Version{Deleted: true}, true
	}
	if err != nil {
		return locking.Version{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > baselineMax {
		return locking.Version{}, false
	}
	sum := sha256.New()
	n, err := io.Copy(sum, io.LimitReader(f, baselineMax+1))
	if err != nil || n > baselineMax {
		return locking.Version{}, false
	}
	v := locking.Version{Size: n}
	sum.Sum(v.SHA256[:0])
	return v, true
}
