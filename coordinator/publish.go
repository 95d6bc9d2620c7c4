package coordinator

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// PublishDir publishes a new version of the directory name under its lease:
// fill populates a fresh versioned directory, then the symlink name is swapped
// to it atomically (readers that resolve name once see one whole version), and
// versions beyond the keep newest are pruned. The commit is lease-aware and
// fenced as for WriteFile. Outcomes as for WriteFile.
func (c *Coordinator) PublishDir(ctx context.Context, name string, fill func(dir string) error, keep int, opts ...writer.Option) error {
	if fill == nil {
		return wrap("publish", name, errNilFunc)
	}
	return c.runKey(ctx, "publish", name, c.linkKey, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		var v locking.Version
		err := c.root.PublishDir(ctx, h.key, fill, keep, c.wopts(ctx, o, h, &v, opts)...)
		return committed(&v, wrapW("publish", h.key, err))
	})
}

// linkKey is the key of a symlink name: its parent resolved, its own last
// component kept (resolving it would give the version it points to now).
func (c *Coordinator) linkKey(name string) (string, error) {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	dir, base := path.Split(clean)
	// A ".." is refused (by resolve) as for every other name: path.Clean
	// would drop it with the component before it, which may be a symlink.
	dotdot := slices.Contains(strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == filepath.Separator }), "..")
	if dotdot || base == "" || base == "." || strings.HasPrefix(clean, "/") {
		return c.resolve(name)
	}
	key := base
	if dir != "" {
		pk, err := c.resolve(path.Clean(dir))
		if err != nil {
			return "", err
		}
		if pk != "." && pk != "" {
			key = pk + "/" + base
		}
	}
	switch {
	case c.isClosed():
		return "", wrap("resolve", name, ErrClosed)
	case strings.IndexByte(base, 0) >= 0:
		return "", wrap("resolve", name, fmt.Errorf("%w: NUL in name", writer.ErrInvalidName))
	case isMetaKey(key):
		return "", wrap("resolve", name, ErrMetadataName)
	}
	return key, nil
}
