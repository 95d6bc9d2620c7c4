package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"time"
)

// Content is one read version of a file.
type Content struct {
	Data   []byte
	SHA256 [32]byte
	Size   int64
	Exists bool // false: the file does not exist (Data empty)
	Mode   fs.FileMode
}

// Retry bounds for reads racing a replace on a network filesystem: a stale
// handle (ESTALE) is retried until the context's deadline (staleTries times
// when it has none); a missing
// file (ENOENT, which a lookup racing a rename can report on NFS) only
// enoentTries times, so a file that really is absent is reported quickly.
const (
	staleTries  = 20
	enoentTries = 3
	backoffMin  = 2 * time.Millisecond
	backoffMax  = 200 * time.Millisecond
)

// ReadFile reads name for a reader on another host: it retries ESTALE and
// ENOENT caused by a concurrent replace on network filesystems within the
// context's deadline. A missing file is an *Error wrapping fs.ErrNotExist.
// With Until it re-reads until the predicate accepts (see ReadVersion).
// With MaxReadSize a file larger than the limit is refused (ErrTooLarge).
// Errors: ErrOutsideRoot, ErrInvalidName, ErrNotRegular, ErrStaleView,
// ErrTooLarge, errnos.
func (r *Root) ReadFile(ctx context.Context, name string, opts ...Option) ([]byte, error) {
	c, err := r.ReadVersion(ctx, name, opts...)
	if err == nil && !c.Exists {
		return nil, newError("open", name, syscall.ENOENT)
	}
	return c.Data, err
}

// ReadVersion reads name and its sha256, retrying ESTALE/ENOENT from a
// concurrent replace. A missing file is Content{Exists: false} with a nil
// error. With Until it re-reads with backoff until accept returns true or the
// window (and ctx) ends; then it returns the last read with ErrStaleView.
// A cancelled ctx ends the retries with the context's cause. With
// MaxReadSize (and without HashOnly) a file larger than the limit is an
// *Error wrapping ErrTooLarge and syscall.EFBIG, returned at once.
func (r *Root) ReadVersion(ctx context.Context, name string, opts ...Option) (Content, error) {
	cfg := newConfig(opts)
	// A reader never sees a half-finished in-place rewrite: settle it first
	// (this waits for a live one, restores a crashed one from its backup).
	// A reader that may not write, or does not (ViewInPlace), reads the
	// version settling would leave.
	readOnce := func(name string) (Content, error) {
		return r.readCtx(ctx, name, cfg.hashOnly, cfg.maxRead, cfg.prefix-1)
	}
	if rel, _, err := r.resolve(name); err == nil && recoverTarget != nil {
		view := func(settleErr error) func(string) (Content, error) {
			limit := cfg.maxRead
			if cfg.hashOnly {
				limit = 0 // its Data is dropped, and HashOnly is not bounded
			}
			return func(name string) (Content, error) {
				c, err := r.readSettled(name, rel, settleErr, limit)
				if cfg.hashOnly {
					c.Data = nil
				}
				return c, err
			}
		}
		switch {
		case cfg.viewInPlace:
			plain, viewed := readOnce, view(nil)
			marker, _ := inPlaceNames(rel)
			readOnce = func(name string) (Content, error) {
				if r.exists(marker) {
					return viewed(name)
				}
				return plain(name)
			}
		default:
			if err := recoverTarget(ctx, r, cfg, rel); err != nil {
				if !isErrno(err, syscall.EACCES, syscall.EPERM, syscall.EROFS) {
					return Content{}, err
				}
				readOnce = view(err)
			}
		}
	}
	var until time.Time
	if cfg.accept != nil && cfg.window > 0 {
		until = time.Now().Add(cfg.window)
	}
	stale, missing, attempt := 0, 0, 0
	var last *Content // the last version read and not accepted
	staleLimit := staleTries
	if _, ok := ctx.Deadline(); ok {
		staleLimit = math.MaxInt // the deadline bounds the retries
	}
	for {
		c, err := readOnce(name)
		switch {
		case err == nil:
		case isErrno(err, syscall.ESTALE) && stale < staleLimit:
			stale++
		case errors.Is(err, fs.ErrNotExist) && missing < enoentTries-1:
			missing++
		case errors.Is(err, fs.ErrNotExist):
			c, err = Content{}, nil
		case last != nil && ctx.Err() != nil:
			// The context ended during a read after a version that was not
			// accepted: as when it ends during the wait before the read.
			return *last, newError("read", name, withCause(ErrStaleView, context.Cause(ctx)))
		default:
			return Content{}, err
		}
		if err == nil {
			if cfg.accept == nil || cfg.accept(c) {
				return c, nil
			}
			if !until.IsZero() && !time.Now().Before(until) {
				return c, newError("read", name, ErrStaleView)
			}
			missing, stale = 0, 0
			last = &c
		} else if !until.IsZero() && !time.Now().Before(until) {
			// Failing reads (a stale handle) through the whole window.
			return Content{}, newError("read", name, withCause(ErrStaleView, err))
		}
		attempt++
		start := time.Now()
		if werr := sleepBackoff(ctx, attempt, until); werr != nil {
			if err == nil {
				return c, newError("read", name, withCause(ErrStaleView, werr))
			}
			return Content{}, newError("read", name, withCause(err, werr))
		}
		cfg.emit("retry", name, start, 0, err)
	}
}

// sleepBackoff waits an exponential, jittered backoff for attempt (capped
// at backoffMax and at until when set). It returns the context's cause when
// ctx ends first.
func sleepBackoff(ctx context.Context, attempt int, until time.Time) error {
	d := backoffMin << min(attempt-1, 10)
	d = min(d, backoffMax)
	d = d/2 + rand.N(d/2+1)
	if !until.IsZero() {
		if left := time.Until(until); left < d {
			d = max(left, 0)
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// read resolves name, opens it (non-blocking, so a FIFO cannot hang the
// reader), checks it is a regular file and reads it whole, hashing. With
// hashOnly it hashes the file through a pooled 1 MiB
// buffer and returns no Data. Otherwise limit > 0 refuses a file larger than
// limit bytes (MaxReadSize): by its fstat size before the buffer for it is
// allocated, and after limit+1 bytes when it grows while read. prefix >= 0
// reads only the file's first prefix bytes (ReadPrefix), and limit bounds
// those.
func (r *Root) read(name string, hashOnly bool, limit, prefix int64) (Content, error) {
	return r.readCtx(context.Background(), name, hashOnly, limit, prefix)
}

// readCtx is read, ending when ctx ends: the file is read in steps of at
// most readStep bytes, and ctx is checked before each (a read of a large
// file from a slow filesystem would otherwise overrun the caller's deadline
// by the whole file's read time).
func (r *Root) readCtx(ctx context.Context, name string, hashOnly bool, limit, prefix int64) (Content, error) {
	rel, fi, err := r.resolve(name)
	if err != nil {
		return Content{}, err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		return Content{}, newError("read", rel, NotRegularError(fi.Mode()))
	}
	f, err := r.root.OpenFile(rel, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return Content{}, newError("open", rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Content{}, newError("fstat", rel, err)
	}
	if !st.Mode().IsRegular() {
		return Content{}, newError("read", rel, NotRegularError(st.Mode()))
	}
	var src io.Reader = ctxReader{ctx, f}
	if hashOnly {
		return hashFile(src, rel, st.Mode())
	}
	size := st.Size()
	if prefix >= 0 {
		src, size = io.LimitReader(src, prefix), min(size, prefix)
	}
	if limit > 0 && size > limit {
		return Content{}, newError("read", rel, tooLarge(size, limit))
	}
	data, sum, err := readAll(src, size, limit)
	if err != nil {
		return Content{}, newError("read", rel, err)
	}
	return Content{Data: data, SHA256: sum, Size: int64(len(data)), Exists: true, Mode: st.Mode()}, nil
}

// readAll reads f to its end, hashing, into a buffer sized for size (its
// fstat size) and room to see the end. With limit > 0 the buffer never
// exceeds limit+1 bytes: a file that grew past limit since its fstat is
// refused (ErrTooLarge) once limit+1 bytes are read, the rest unread.
func readAll(f io.Reader, size, limit int64) ([]byte, [32]byte, error) {
	limit = min(limit, math.MaxInt64-1) // limit+1 below must not overflow
	want := size + 512
	if limit > 0 {
		want = min(want, limit+1)
	}
	data := make([]byte, 0, want)
	h := sha256.New()
	for {
		if len(data) == cap(data) {
			data = grow(data, limit)
		}
		n, err := f.Read(data[len(data):cap(data)])
		h.Write(data[len(data) : len(data)+n])
		data = data[:len(data)+n]
		if limit > 0 && int64(len(data)) > limit {
			return nil, [32]byte{}, grewPast(limit)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, [32]byte{}, err
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return data, sum, nil
}

// grow returns data in a larger buffer: a quarter more (as append grows a
// large slice), and no more than limit+1 bytes when limit > 0 (readAll calls
// it only while len(data) <= limit).
func grow(data []byte, limit int64) []byte {
	n := cap(data) + cap(data)/4 + 512
	if limit > 0 && int64(n) > limit+1 {
		n = int(limit + 1)
	}
	return append(make([]byte, 0, n), data...)
}

// tooLarge is the cause of a whole-file read refused because the file's
// size is above the read limit.
func tooLarge(size, limit int64) error {
	return withCause(ErrTooLarge, fmt.Errorf("the file is %d bytes, more than the read limit of %d bytes: %w", size, limit, syscall.EFBIG))
}

// grewPast is the cause of a whole-file read refused because the file grew
// past the read limit while it was read.
func grewPast(limit int64) error {
	return withCause(ErrTooLarge, fmt.Errorf("the file grew past the read limit of %d bytes while it was read: %w", limit, syscall.EFBIG))
}

// hashFile reads f to its end through a pooled buffer (copyHashing),
// hashing: Content without Data.
func hashFile(f io.Reader, rel string, mode fs.FileMode) (Content, error) {
	sum, n, err := copyHashing(io.Discard, f)
	if err != nil {
		return Content{}, newError("read", rel, err)
	}
	return Content{Size: n, Exists: true, Mode: mode, SHA256: sum}, nil
}

// readStep is the most ctxReader reads at a time.
const readStep = 1 << 20

// ctxReader reads r in steps of at most readStep bytes, returning ctx's cause
// once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	if len(p) > readStep {
		p = p[:readStep]
	}
	return c.r.Read(p)
}
