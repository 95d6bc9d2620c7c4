package cli

import (
	"context"
	"io"
)

// ctxReader reads r but returns context.Cause(ctx) as soon as ctx ends, even
// while a Read of r is blocked (stdin kept open and never written, for one).
//
// Each Read of r runs in its own goroutine into a buffer of the ctxReader's
// own, reused from one Read to the next (a 1 GiB copy would otherwise
// allocate and clear 1 GiB of buffers). A read that ctx interrupts is
// abandoned, and its buffer with it: its goroutine stays blocked in r.Read
// until r delivers data or EOF, and what it delivers is dropped (every later
// Read fails with the cause: a context does not come back). That is
// acceptable only because the CLI exits right after a cancelled command: a
// blocked read of a pipe or terminal cannot be interrupted portably (closing
// os.Stdin does not wake a read already blocked on a pipe), and the process
// exit ends the goroutine. ctxReader is not for long-lived readers.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte // not the caller's: an abandoned read must not write into that
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	return &ctxReader{ctx: ctx, r: r}
}

// Read reads up to len(p) bytes of r, or returns context.Cause(ctx) once ctx
// has ended, whichever comes first.
func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	if len(p) == 0 {
		return 0, nil
	}
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	go func() {
		n, err := c.r.Read(buf)
		res <- result{n, err}
	}()
	select {
	case rr := <-res:
		return copy(p, buf[:rr.n]), rr.err
	case <-c.ctx.Done():
		c.buf = nil // the abandoned read's
		return 0, context.Cause(c.ctx)
	}
}
