package writer

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// copyBufSize is the copy buffer: io.Copy between files on different
// filesystems falls back to 32 KiB reads and writes (copy_file_range refuses
// to cross filesystems), which is several times slower on network volumes.
const copyBufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyToTemp copies src into a new temp beside target (a canonical
// root-relative name) through a 1 MiB buffer, hashing while it copies. It is
// the copy half of the EXDEV fallback: used for a TempDir on another device
// and by Move when src is on another filesystem. It returns the temp open,
// written and not yet fsynced (finish it with finishTemp, then commitTemp or
// discard); its sum() is the sha256 and size of exactly what was copied. The
// context is checked between chunks; on any error nothing is left behind.
func (r *Root) copyToTemp(ctx context.Context, cfg *config, src io.Reader, target string) (*tempFile, error) {
	t, err := r.createTemp(ctx, cfg, target, "")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = copyInto(ctx, t, src)
	func() {
		defer func() {
			if p := recover(); p != nil {
				// The caller's observer panicked: the copy is not the
				// caller's yet, so it goes here.
				_ = t.discard(&config{})
				panic(p)
			}
		}()
		cfg.emit("write", t.Name, start, t.size, err)
	}()
	if err != nil {
		_ = t.discard(cfg)
		return nil, err
	}
	return t, nil
}

// copyInto streams src into t with pooled 1 MiB buffers. A failed read is an
// *Error naming src when it has a name (an *os.File) and the temp.
//
// A chunk's sha256 is computed on another goroutine while the chunk is written
// and the next one read (into the other buffer): hashing costs about as much
// as writing to a fast volume, so a large copy takes the longer of the two
// instead of their sum. A short copy (one chunk under parallelHashMin) is
// hashed in line.
func copyInto(ctx context.Context, t *tempFile, src io.Reader) error {
	var bufs [2][]byte
	for i := range bufs {
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		bufs[i] = *bp
	}
	var hashed chan struct{} // the chunk being hashed, closed when done
	wait := func() {
		if hashed != nil {
			<-hashed
			hashed = nil
		}
	}
	defer wait() // before the buffers go back to the pool
	for i := 0; ; i ^= 1 {
		if err := ctx.Err(); err != nil {
			return newError("copy", t.Name, context.Cause(ctx))
		}
		buf := bufs[i]
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			chunk := buf[:n]
			wait() // the hash takes the chunks in order
			if n < parallelHashMin {
				t.hash.Write(chunk)
			} else {
				done := make(chan struct{})
				hashed = done
				go func() {
					defer close(done)
					t.hash.Write(chunk)
				}()
			}
			if _, err := t.writeData(chunk); err != nil {
				return err
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
			return nil
		default:
			if f, ok := src.(interface{ Name() string }); ok {
				return newError2("copy: read source", f.Name(), t.Name, rerr)
			}
			return newError("copy: read source for", t.Name, rerr)
		}
	}
}

// parallelHashMin is the chunk size from which copyInto hashes on another
// goroutine: below it, handing the chunk over costs more than it saves.
const parallelHashMin = 256 << 10
