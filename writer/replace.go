package writer

import (
	"context"
	"io/fs"
)

// WriteFile atomically replaces (or creates) name with data: readers see the
// old content or the new, never a mix, and a crash at any moment leaves one of
// the two. It is Create, Write and Commit; see Commit for the three outcomes
// (nil; ErrDurabilityUnconfirmed = visible but maybe not durable; any other
// error = nothing changed) and Create for perm and the options.
func (r *Root) WriteFile(ctx context.Context, name string, data []byte, perm fs.FileMode, opts ...Option) error {
	f, err := r.Create(ctx, name, perm, opts...)
	if err != nil {
		return err
	}
	f.fresh = true // Commit follows at once: the target's Lstat from Create is current
	if _, err := f.Write(data); err != nil {
		_ = f.Abort()
		return err
	}
	return f.Commit(ctx)
}
