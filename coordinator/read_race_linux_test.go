//go:build linux

package coordinator

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A lease-free ReadFile that reads the record, is held up, and then finds a
// version committed meanwhile by another host returns that version at once:
// the file is newer than the record it read, not a stale view to wait out nor
// an outside edit to warn about. (The reader's close of the lock file after
// reading the record is slowed down, and the other host commits during it.)
func TestReadFileFindsVersionCommittedAfterRecord(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	other := open(t, local, fs.Backing)
	if err := other.WriteFile(ctx, "f", []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	const window = 10 * time.Second
	logs := &testrig.SyncBuffer{}
	reader := open(t, local, fs.Dir, WithStaleWindow(window), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))

	r := readAcross(t, fs, func() ([]byte, error) { return reader.ReadFile(ctx, "f") }, func() {
		if err := other.WriteFile(ctx, "f", []byte("two"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if r.err != nil || string(r.data) != "two" {
		t.Fatalf("ReadFile = %q, %v; want %q", r.data, r.err, "two")
	}
	if r.took >= window {
		t.Errorf("ReadFile took %v: it waited out the %v stale-view window", r.took, window)
	}
	if s := logs.String(); strings.Contains(s, "edited outside") {
		t.Errorf("the version committed during the read was taken for an outside edit:\n%s", s)
	}
}

// slowLockClose slows down the next close of a lock file on fs (its FUSE
// flush) by 2 s, and returns a channel closed when that close has begun: a
// reader that has read a record is then held up before it reads the file.
func slowLockClose(fs *faultfs.FS) <-chan struct{} {
	inClose := make(chan struct{})
	var once sync.Once
	fs.Set(faultfs.Fault{Op: faultfs.OpFlush, Glob: "*.lock", Count: 1, Delay: 2 * time.Second, Match: func(string) bool {
		once.Do(func() { close(inClose) })
		return true
	}})
	return inClose
}

// readResult is what read returned, and how long it took.
type readResult struct {
	data []byte
	err  error
	took time.Duration
}

// readAcross runs read, and commit while read is held up between its read of
// the record and its read of the file (slowLockClose); it returns read's
// result.
func readAcross(t *testing.T, fs *faultfs.FS, read func() ([]byte, error), commit func()) readResult {
	t.Helper()
	inClose := slowLockClose(fs)
	done := make(chan readResult, 1)
	go func() {
		start := time.Now()
		b, err := read()
		done <- readResult{b, err, time.Since(start)}
	}()
	select {
	case <-inClose:
	case r := <-done:
		t.Fatalf("read returned %q, %v before closing the lock file", r.data, r.err)
	}
	commit()
	return <-done
}
