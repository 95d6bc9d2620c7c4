package coordinator

import (
	"context"

	"github.com/sharedwrite/sharedwrite/locking"
)

// Remove removes name under its lease (the committed record then says
// deleted). A missing file is an error wrapping fs.ErrNotExist. As every
// operation, it acts on the file name stands for: when name is a symlink
// inside the root, its target is removed and the link stays, dangling (an
// operation on it is then refused, as on any dangling link).
func (c *Coordinator) Remove(ctx context.Context, name string) error {
	return c.run(ctx, "remove", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		var v locking.Version
		err := c.root.Remove(ctx, h.key, c.wopts(ctx, o, h, &v, nil)...)
		return committed(&v, wrapW("remove", h.key, err))
	})
}
