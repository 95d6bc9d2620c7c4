package coordinator

import (
	"context"
	"io"
)

// ctxReader reads from r until ctx ends, then fails with ctx's cause: a
// streaming write stops filling its temp once the lease is lost or the caller
// gives up. (A Read already blocked in r returns first.)
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}
