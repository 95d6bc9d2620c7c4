//go:build linux

package coordinator

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestWatchDeliversAppendAfterSizeRotation appends through an Appender with
// RotateAtSize: it rotates and appends in one batch, under one lease, so the
// rotation and the append are two versions with one token. The appender's
// reopen of the new live file is slowed down, so that the watcher sees the
// rotation first; it must still deliver the append that follows it.
func TestWatchDeliversAppendAfterSizeRotation(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	c := open(t, local, fs.Dir)
	watcherC := open(t, local, fs.Backing)
	app := c.Appender("app.log", RotateAtSize(10))
	defer app.Close()
	if err := app.Append(ctx, []byte("0123456789\n")); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, watcherC, "app.log", WatchInterval(20*time.Millisecond))
	fs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "app.log", Delay: 1500 * time.Millisecond})
	if err := app.Append(ctx, []byte("after\n")); err != nil {
		t.Fatal(err)
	}
	fs.Clear()
	if got := readFile(t, fs.Backing+"/app.log"); got != "after\n" {
		t.Fatalf("live log = %q; want %q", got, "after\n")
	}
	w.waitFor(t, 10*time.Second, `the append "after\n"`, func(ch Change) bool { return string(ch.Data) == "after\n" })
}

// TestWatchNeverDeliversALogVersionWithAnotherGeneration holds up a watcher
// between its read of the record (an append's version: generation 0, 21
// bytes) and its read of the file; meanwhile the log is rotated and a longer
// record appended to the new live file. The file it then reads is as long as
// the version says, but it is another file: the version must not be delivered
// with the new generation's bytes.
func TestWatchNeverDeliversALogVersionWithAnotherGeneration(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	writerC := open(t, local, fs.Backing)
	old := strings.Repeat("A", 20) + "\n"
	app := writerC.Appender("app.log")
	if err := app.Append(ctx, []byte(old)); err != nil {
		t.Fatal(err)
	}
	app.Close()
	rec, err := writerC.peekRecord("app.log")
	if err != nil {
		t.Fatal(err)
	}
	v1 := rec.Committed
	watcherC := open(t, local, fs.Dir)

	// The watcher's close of the lock file after its read of the record is
	// slowed down; the rotation and the append land inside it.
	inClose := slowLockClose(fs)
	w := startWatch(t, watcherC, "app.log", WatchAfter(v1.Token-1), WatchInterval(10*time.Second))
	select {
	case <-inClose:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never closed the lock file")
	}
	if _, err := writerC.Rotate(ctx, "app.log"); err != nil {
		t.Fatal(err)
	}
	app2 := writerC.Appender("app.log")
	if err := app2.Append(ctx, []byte(strings.Repeat("B", 30)+"\n")); err != nil {
		t.Fatal(err)
	}
	app2.Close()
	fs.Clear()
	w.waitFor(t, 10*time.Second, "the last append", func(ch Change) bool { return bytes.HasPrefix(ch.Data, []byte("BBB")) && len(ch.Data) == 31 })
	for _, ch := range w.got() {
		if ch.Token == v1.Token && string(ch.Data) != old {
			t.Errorf("token %d (generation %d, %d bytes) delivered with %q; its content is %q", ch.Token, ch.Generation, ch.Size, ch.Data, old)
		}
	}
}

// TestWatchNeverDeliversAWithdrawnRotation fails a rotation's link to the
// rotated name: the rotation is withdrawn, it never happened, and the live
// file keeps its records. Its pending version (length 0, a new generation),
// visible in the record meanwhile, must not be delivered as if the log had
// been emptied.
func TestWatchNeverDeliversAWithdrawnRotation(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	c := open(t, local, fs.Dir)
	watcherC := open(t, local, fs.Backing)
	app := c.Appender("app.log")
	if err := app.Append(ctx, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	app.Close()
	w := startWatch(t, watcherC, "app.log", WatchInterval(20*time.Millisecond))
	fs.Set(faultfs.Fault{Op: faultfs.OpLink, Delay: time.Second, Errno: syscall.EIO})
	if _, err := c.Rotate(ctx, "app.log"); err == nil {
		t.Fatal("Rotate succeeded with link failing")
	}
	fs.Clear()
	app = c.Appender("app.log")
	defer app.Close()
	if err := app.Append(ctx, []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs.Backing+"/app.log"); got != "one\ntwo\n" {
		t.Fatalf("live log = %q; want the rotation withdrawn", got)
	}
	w.waitFor(t, 10*time.Second, "the last append", func(ch Change) bool { return string(ch.Data) == "one\ntwo\n" })
	for _, ch := range w.got() {
		if ch.Generation != 0 || len(ch.Data) == 0 {
			t.Errorf("delivered token %d generation %d %q: a rotation that was withdrawn (%s)", ch.Token, ch.Generation, ch.Data, describe(w.got()))
		}
	}
}

// TestWatchNeverDeliversAFailedRewriteOfTheSameContent fails the rename of a
// WriteFile of the content the file already has: it commits nothing, but its
// pending version, written before the rename, matches the file as it is. It
// must not be delivered; the next write is.
func TestWatchNeverDeliversAFailedRewriteOfTheSameContent(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	c := open(t, local, fs.Dir)
	watcherC := open(t, local, fs.Backing)
	if err := c.WriteFile(ctx, "cfg", []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, watcherC, "cfg", WatchInterval(20*time.Millisecond))
	fs.Set(faultfs.Fault{Op: faultfs.OpRename, Glob: "cfg", Delay: time.Second, Errno: syscall.EIO})
	if err := c.WriteFile(ctx, "cfg", []byte("same"), 0o644); err == nil {
		t.Fatal("WriteFile succeeded with its rename failing")
	}
	fs.Clear()
	rec, err := watcherC.peekRecord("cfg")
	if err != nil {
		t.Fatal(err)
	}
	failed := rec.Floor.Token
	if failed <= rec.Committed.Token {
		t.Fatalf("floor %d after the failed write; want above committed %d", failed, rec.Committed.Token)
	}
	if err := c.WriteFile(ctx, "cfg", []byte("next"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, 10*time.Second, `the next write "next"`, func(ch Change) bool { return string(ch.Data) == "next" })
	for _, ch := range w.got() {
		if ch.Token == failed {
			t.Errorf("delivered token %d, a write that failed: %s", ch.Token, describe(w.got()))
		}
	}
}

// TestWatchInitialDeliversTheFirstCommitOnce watches, with WatchInitial, a
// file created outside sharedwrite (no record yet: it would be delivered as
// it is, with token 0). The first sharedwrite commit lands between the
// watcher's look at the record (none) and its read of the file (slowed down
// here), so what it reads is that commit's version: it is delivered once,
// with its token, not also as the unrecorded token 0.
func TestWatchInitialDeliversTheFirstCommitOnce(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	ctx := ctxT(t, time.Minute)
	writerC := open(t, local, fs.Backing)
	watcherC := open(t, local, fs.Dir)
	mustWrite(t, fs.Backing+"/cfg", "outside")

	inOpen := make(chan struct{})
	var once sync.Once
	fs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "cfg", Count: 1, Delay: 2 * time.Second, Match: func(string) bool {
		once.Do(func() { close(inOpen) })
		return true
	}})
	var mu sync.Mutex
	var got []Change
	more := make(chan struct{}, 1)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- watcherC.Watch(wctx, "cfg", func(_ context.Context, ch Change) error {
			mu.Lock()
			got = append(got, ch)
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			return nil
		}, WatchInitial(), WatchInterval(50*time.Millisecond))
	}()
	defer func() { cancel(); <-done }()
	delivered := func() []Change {
		mu.Lock()
		defer mu.Unlock()
		return append([]Change(nil), got...)
	}
	select {
	case <-inOpen:
	case err := <-done:
		t.Fatalf("Watch returned %v before reading the file", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never opened the file")
	}
	if err := writerC.WriteFile(ctx, "cfg", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := writerC.peekRecord("cfg")
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the commit's version, then give a second delivery of it
	// time to come: it would follow at once.
	deadline := time.After(10 * time.Second)
	for !hasToken(delivered(), rec.Committed.Token) {
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no delivery of token %d within 10s; delivered %s", rec.Committed.Token, describe(delivered()))
		}
	}
	time.Sleep(500 * time.Millisecond)
	chs := delivered()
	seen := map[string]uint64{}
	for _, ch := range chs {
		if tok, ok := seen[string(ch.Data)]; ok {
			t.Errorf("content %q delivered twice, as token %d and as token %d (%s)", ch.Data, tok, ch.Token, describe(chs))
		}
		seen[string(ch.Data)] = ch.Token
	}
}

func hasToken(chs []Change, tok uint64) bool {
	for _, ch := range chs {
		if ch.Token == tok {
			return true
		}
	}
	return false
}
