package cli

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// closedStream stands for a standard stream whose descriptor was closed
// when the process started. The Go runtime opens /dev/null read-write on a
// closed descriptor 0, 1 or 2 (so that no file opened later takes its
// place), which would make a closed stdin read as empty input (`write`
// would replace the file with nothing) and a closed stdout swallow what
// `read` prints, with exit 0. Its reads and writes fail with EBADF instead,
// as they would have on the closed descriptor. A command run after "--" is
// handed f, the /dev/null descriptor, itself (see childIn).
type closedStream struct{ f *os.File }

func (c closedStream) Read([]byte) (int, error) {
	return 0, &os.PathError{Op: "read", Path: c.f.Name(), Err: syscall.EBADF}
}

func (c closedStream) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: c.f.Name(), Err: syscall.EBADF}
}

// stdio returns stdin and stdout as the commands read and write them: each
// is the os.File, or a closedStream when its descriptor was closed at start.
func stdio() (io.Reader, io.Writer) {
	var in io.Reader = os.Stdin
	var out io.Writer = os.Stdout
	if closedAtStart(0) {
		in = closedStream{os.Stdin}
	}
	if closedAtStart(1) {
		out = closedStream{os.Stdout}
	}
	return in, out
}

// closedStdin returns the error a read of r, the command's stdin, fails
// with when its descriptor was closed at start, and nil otherwise. The
// commands that read their content from stdin (write, init --from -) check
// it before they open the volume: the input is known to be unreadable, so
// nothing is done for it, neither a missing root created nor NAME locked
// (its lock file would stay, and with it a root created for it).
func closedStdin(r io.Reader) error {
	c, ok := r.(closedStream)
	if !ok {
		return nil
	}
	_, err := c.Read(nil)
	return fmt.Errorf("read stdin: %w", err)
}

// childIn and childOut are the streams to give a command run after "--":
// the descriptor itself for a closedStream (the command sees /dev/null, as
// the runtime left it, rather than a pipe whose copy fails), the stream
// otherwise.
func childIn(r io.Reader) io.Reader {
	if c, ok := r.(closedStream); ok {
		return c.f
	}
	return r
}

func childOut(w io.Writer) io.Writer {
	if c, ok := w.(closedStream); ok {
		return c.f
	}
	return w
}
