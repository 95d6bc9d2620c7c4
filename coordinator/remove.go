package coordinator

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Remove removes name under its lease (the committed record then says
// deleted). A missing file is an error wrapping fs.ErrNotExist.
func (c *Coordinator) Remove(ctx context.Context, name string) error {
	return c.run(ctx, "remove", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		var v locking.Version
		if fi, err := c.root.OS().Lstat(h.key); err == nil && !fi.Mode().IsRegular() {
			return nil, wrap("remove", h.key, fmt.Errorf("%w: it is a %s", writer.ErrNotRegular, kindOf(fi.Mode())))
		}
		err := c.root.Remove(ctx, h.key, c.wopts(ctx, o, h, &v, nil)...)
		return committed(&v, wrapW("remove", h.key, err))
	})
}

// kindOf names a non-regular file's type for an error message.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "non-regular file"
}
