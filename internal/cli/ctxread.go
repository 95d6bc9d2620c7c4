package cli

import (
	"context"
	"io"
)

// ctxReader reads r but returns context.Cause(ctx) as soon as ctx ends, even
// while a Read of r is blocked (stdin kept open and never written, for one).
//
// Each Read of r runs in its own goroutine into a buffer of its own. A read
// that ctx interrupts is abandoned: its goroutine stays blocked in r.Read
// until r delivers data or EOF, and what it delivers is dropped. That is
// acceptable only because the CLI exits right after a cancelled command: a
// blocked read of a pipe or terminal cannot be interrupted portably (closing
// os.Stdin does not wake a read already blocked on a pipe), and the process
// exit ends the goroutine. ctxReader is not for long-lived readers.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	// pending receives the outcome of a Read of r that a cancelled Read left
	// behind; later Reads take it first, so no data is skipped or reordered.
	pending chan readResult
}

type readResult struct {
	b   []byte
	err error
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	return &ctxReader{ctx: ctx, r: r}
}

// Read reads up to len(p) bytes of r, or returns context.Cause(ctx) once ctx
// has ended, whichever comes first.
func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	if len(p) == 0 {
		return 0, nil
	}
	res := c.pending
	if res == nil {
		res = make(chan readResult, 1)
		buf := make([]byte, len(p))
		go func() {
			n, err := c.r.Read(buf)
			res <- readResult{buf[:n], err}
		}()
	}
	select {
	case rr := <-res:
		c.pending = nil
		n := copy(p, rr.b)
		if n < len(rr.b) {
			// Only a left-behind read of a larger buffer: keep the rest.
			rest := make(chan readResult, 1)
			rest <- readResult{rr.b[n:], rr.err}
			c.pending = rest
			return n, nil
		}
		return n, rr.err
	case <-c.ctx.Done():
		c.pending = res
		return 0, context.Cause(c.ctx)
	}
}
