package cli

import (
	"fmt"
	"io"
)

// A command's report on stdout is its result: a write that fails (a full
// disk, a closed pipe) fails the command (exit 1), with a message that names
// the command and "write to stdout", rather than exiting 0 with nothing
// delivered.

// printf writes a formatted report line to stdout; what names the command in
// the error.
func (g *globals) printf(what, format string, args ...any) error {
	if _, err := fmt.Fprintf(g.stdout, format, args...); err != nil {
		return stdoutError(what, err)
	}
	return nil
}

// stdoutError is the failure to write what's report to stdout.
func stdoutError(what string, err error) error {
	return fmt.Errorf("%s: write to stdout: %w", what, err)
}

// stickyWriter passes writes on to w until one fails; from then on every
// write fails with that first error without writing. A report written in
// many pieces, some of them flushed along the way (tabwriter), is then
// checked once, at the end (err).
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	s.err = err
	return n, err
}
