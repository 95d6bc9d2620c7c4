package writer

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// moveBlockSize and moveBlocks size the pipelined copy: 8 blocks of 1 MiB
// (8 MiB per copy in flight) keep the reader, the writer and the hasher
// busy at once while each system call moves a large piece.
const (
	moveBlockSize = 1 << 20
	moveBlocks    = 8
)

// moveBlock is one buffer of the pipelined copy, returned to the free list
// once both the writer and the hasher are done with it.
type moveBlock struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

var moveBlockPool = sync.Pool{New: func() any { return &moveBlock{buf: make([]byte, moveBlockSize)} }}

// copyPipelined copies src into t in stages that run at once: a reader
// fills blocks from src, the calling goroutine writes them to the temp in
// order (starting their write-back as it goes), and, when hash is set, a
// hasher hashes them in the same order; the reader drops src's copied pages
// from the page cache (see dropBehind). sha256 runs at about 2 GB/s on one
// core and a copy between page caches at about as much on another, so in
// line they would take the sum of both times; overlapped, about the longer
// one. A block is read into again only after it has been written (and
// hashed), so t's sha256 and size are those of exactly what was written. The
// context is checked between blocks; on error the temp is left for the
// caller to discard. A failed read of src is an *Error naming src (as
// opened) and the temp.
func copyPipelined(ctx context.Context, t *tempFile, src *os.File, hash bool) error {
	free := make(chan *moveBlock, moveBlocks)
	for range moveBlocks {
		b := moveBlockPool.Get().(*moveBlock)
		defer moveBlockPool.Put(b)
		free <- b
	}
	release := func(b *moveBlock) {
		if b.refs.Add(-1) == 0 {
			free <- b
		}
	}
	// At most moveBlocks blocks exist, so sends on these never block.
	toWrite := make(chan *moveBlock, moveBlocks)
	toHash := make(chan *moveBlock, moveBlocks)
	refs := int32(1)
	if hash {
		refs = 2
	}
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(toHash)
		defer close(toWrite)
		db := newDropBehind(src)
		var off int64
		for {
			var b *moveBlock
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, b.buf)
			if n > 0 {
				b.n = n
				b.refs.Store(refs)
				toWrite <- b
				if hash {
					toHash <- b
				}
				off += int64(n)
				db.read(off)
			} else {
				free <- b
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					readErr = newError2("copy: read source", src.Name(), t.Name, err)
				}
				return
			}
		}
	}()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			t.hash.Write(b.buf[:b.n])
			release(b)
		}
	}()

	wb := writeBehind{f: t.File, name: t.Name}
	var err error
	for b := range toWrite {
		if err == nil {
			err = ctx.Err()
			if err != nil {
				err = newError("copy", t.Name, context.Cause(ctx))
			} else if _, werr := t.File.Write(b.buf[:b.n]); werr != nil {
				err = newError("write", t.Name, werr)
			} else {
				t.size += int64(b.n)
				err = wb.wrote(t.size)
			}
			if err != nil {
				close(stop)
			}
		}
		release(b)
	}
	<-hashed
	if err == nil {
		err = readErr // toWrite closed after readErr was set
	}
	return err
}
