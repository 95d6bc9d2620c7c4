//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An appender that stalls between taking the lease and writing (here: its
// open of the log is slowed down) while another host, whose file lock this one
// cannot see, appends and acknowledges records and raises the floor, must find
// the fence before it truncates: the other host's records stay.
func TestAppendStalledHolderDoesNotCutOthersRecords(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	root := fs.Dir
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	first := c.Appender("app.log")
	if err := first.Append(ctx, []byte("one\n")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	first.Close()

	// A new appender opens the log afresh (after taking its lease and
	// reading the committed length); that open now stalls. Match tells when
	// the open has reached the filesystem: the delay starts right after it,
	// so everything the other host does below lands inside the stall, with a
	// delay long enough that a slow machine cannot make it end first.
	inOpen := make(chan struct{})
	var once sync.Once
	fs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "app.log", Delay: 5 * time.Second, Match: func(string) bool {
		once.Do(func() { close(inOpen) })
		return true
	}})
	stalled := c.Appender("app.log")
	defer stalled.Close()
	done := make(chan error, 1)
	go func() { done <- stalled.Append(ctx, []byte("two\n")) }()

	select {
	case <-inOpen: // the stalled appender holds its lease, inside open
	case err := <-done:
		t.Fatalf("stalled Append returned %v before its open of the log", err)
	case <-ctx.Done():
		t.Fatal("the stalled appender never opened the log")
	}
	f, err := os.OpenFile(filepath.Join(fs.Backing, "app.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("other\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := raiseFloorElsewhere(t, root, "app.log", 10); err != nil {
		t.Fatalf("raise the floor: %v", err)
	}

	err = <-done
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("stalled Append = %v; want ErrFenced", err)
	}
	fs.Clear()
	b, err := os.ReadFile(filepath.Join(fs.Backing, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "one\nother\n"; got != want {
		t.Errorf("log = %q; want %q (the other host's record kept, nothing of the fenced batch)", got, want)
	}
}
