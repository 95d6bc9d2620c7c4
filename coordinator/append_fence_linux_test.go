//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
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

	// A new appender opens the log afresh; that open now takes a second.
	fs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "app.log", Delay: time.Second})
	stalled := c.Appender("app.log")
	defer stalled.Close()
	done := make(chan error, 1)
	go func() { done <- stalled.Append(ctx, []byte("two\n")) }()

	time.Sleep(300 * time.Millisecond) // the stalled appender holds its lease, inside open
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
