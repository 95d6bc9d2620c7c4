package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A log written by appends records its committed length but no hash: a reader
// must accept it at once (not wait out the stale-view window and call it an
// outside edit) and must never be handed an unacknowledged tail.
func TestReadFileOfAppendedLog(t *testing.T) {
	for _, m := range []mode{local, rds} {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithStaleWindow(20*time.Second), Strict())
			ctx := ctxT(t, 60*time.Second)
			a := c.Appender("app.log")
			defer a.Close()
			for _, rec := range []string{"one\n", "two\n"} {
				if err := a.Append(ctx, []byte(rec)); err != nil {
					t.Fatalf("Append: %v", err)
				}
			}
			start := time.Now()
			got, err := c.ReadFile(ctx, "app.log")
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("ReadFile took %v; want it well within the 20s stale-view window", took)
			}
			if string(got) != "one\ntwo\n" {
				t.Errorf("ReadFile = %q; want %q", got, "one\ntwo\n")
			}

			// An unacknowledged tail left by a crashed appender is not read.
			f, err := os.OpenFile(filepath.Join(root, "app.log"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("torn")
			f.Close()
			got, err = c.ReadFile(ctx, "app.log")
			if err != nil {
				t.Fatalf("ReadFile with a torn tail: %v", err)
			}
			if string(got) != "one\ntwo\n" {
				t.Errorf("ReadFile with a torn tail = %q; want %q", got, "one\ntwo\n")
			}
		})
	}
}

// A watcher of an appended log is handed each committed prefix, never a tail
// past the committed length, with the hash of what it was handed.
func TestWatchAppendedLog(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(20*time.Second))
	ctx := ctxT(t, 60*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("one\n")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	// An unacknowledged tail, as a crashed appender leaves it.
	f, err := os.OpenFile(filepath.Join(root, "app.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("torn")
	f.Close()

	w := startWatch(t, c, "app.log", WatchInitial(), WatchInterval(50*time.Millisecond))
	first := w.waitFor(t, 10*time.Second, "the initial version", func(ch Change) bool { return ch.Initial })
	if string(first.Data) != "one\n" {
		t.Errorf("initial delivery = %q; want %q", first.Data, "one\n")
	}
	if err := a.Append(ctx, []byte("two\n")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	next := w.waitFor(t, 10*time.Second, "the second append", func(ch Change) bool { return !ch.Initial })
	if string(next.Data) != "one\ntwo\n" {
		t.Errorf("delivery after the second append = %q; want %q", next.Data, "one\ntwo\n")
	}
	checkOrder(t, w.got())
}
