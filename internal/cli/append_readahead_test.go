package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

// TestAppendReadAheadBoundedInBytes: while a batch waits for the log's
// lease, append reads stdin ahead only as far as the next batch can take
// (--max-batch-bytes), not --max-queued lines of any length: 65536 long
// lines held in memory are gigabytes. Stdin waits instead, and every line is
// appended once the lease comes.
func TestAppendReadAheadBoundedInBytes(t *testing.T) {
	const (
		lineSize = 64 << 10
		lines    = 512 // 32 MiB in all
		batch    = 1 << 20
		bound    = 4 * batch // a batch, a line, and the readers' buffers, with room to spare
	)
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := coordinator.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Another holder keeps the log's lease and lock until released.
	held, release := make(chan struct{}), make(chan struct{})
	lockDone := make(chan error, 1)
	go func() {
		lockDone <- c.Lock(ctx, "app.log", func(context.Context, coordinator.LeaseInfo) error {
			close(held)
			<-release
			return nil
		})
	}()
	var once sync.Once
	unlock := func() { once.Do(func() { close(release) }) }
	defer unlock()
	select {
	case <-held:
	case err := <-lockDone:
		t.Fatalf("Lock: %v", err)
	}

	in := &countingReader{r: bytes.NewReader(bytes.Repeat(append(bytes.Repeat([]byte{'x'}, lineSize-1), '\n'), lines))}
	var stderr bytes.Buffer
	g := &globals{root: root, leaseTTL: 10 * time.Second, timeout: time.Minute, logFormat: "text", logLevel: "error",
		maxReadSize: defaultMaxReadSize, stdin: in, stdout: &bytes.Buffer{}, stderr: &stderr}
	logger, err := newLogger(&stderr, "text", "error")
	if err != nil {
		t.Fatal(err)
	}
	g.logger = logger
	appended := make(chan error, 1)
	go func() {
		appended <- runAppend(ctx, g, &appendOpts{name: "app.log", maxBytes: batch, maxDelay: 2 * time.Millisecond, mode: "0644", maxQueued: 65536})
	}()

	// Give the reading a while to run ahead of the batch that waits.
	time.Sleep(2 * time.Second)
	if got := in.n.Load(); got > bound {
		t.Errorf("append read %d bytes of stdin ahead of a batch waiting for the lease; want at most %d (--max-batch-bytes %d)", got, bound, batch)
	}
	unlock()
	if err := <-lockDone; err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := <-appended; err != nil {
		t.Fatalf("append: %v", err)
	}
	fi, err := os.Stat(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Size(), int64(lines*lineSize); got != want {
		t.Errorf("log holds %d bytes; want %d", got, want)
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
