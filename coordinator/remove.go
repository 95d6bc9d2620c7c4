package coordinator

import (
	"context"

	"github.com/sharedwrite/sharedwrite/locking"
)

// Remove removes name under its lease (the committed record then says
// deleted). A missing file is an error wrapping fs.ErrNotExist.
func (c *Coordinator) Remove(ctx context.Context, name string) error {
	return c.run(ctx, "remove", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		var v locking.Version
		err := c.root.Remove(ctx, h.key, c.wopts(ctx, o, h, &v, nil)...)
		return committed(&v, wrapW("remove", h.key, err))
	})
}
