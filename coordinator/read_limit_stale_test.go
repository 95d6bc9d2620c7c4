package coordinator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file that shows a larger, older content than the version its record
// says is committed (a stale view: another host's cache serves the file as
// it was before a write shrank it) is re-read through the stale-view window,
// as any file that does not match yet, when the committed version is within
// the read limit: ReadFile, Update and InitOnce then see the committed version once
// the view catches up, they do not fail with ErrTooLarge.
func TestReadLimitStaleLargerView(t *testing.T) {
	const limit = 1024
	for _, op := range []string{"ReadFile", "Update", "InitOnce"} {
		t.Run(op, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root, WithMaxReadSize(limit), WithStaleWindow(10*time.Second))
			ctx := ctxT(t, 30*time.Second)
			small := []byte("small\n")
			if err := c.WriteFile(ctx, "f", small, 0o644); err != nil {
				t.Fatal(err)
			}
			// The view shows the older, larger content ...
			name := filepath.Join(root, "f")
			if err := os.WriteFile(name, bytes.Repeat([]byte("x"), 2*limit), 0o644); err != nil {
				t.Fatal(err)
			}
			// ... and catches up with the committed version a moment later.
			caught := make(chan error, 1)
			go func() {
				time.Sleep(300 * time.Millisecond)
				tmp := filepath.Join(root, ".f.view")
				if err := os.WriteFile(tmp, small, 0o644); err != nil {
					caught <- err
					return
				}
				caught <- os.Rename(tmp, name)
			}()
			var got []byte
			var err error
			switch op {
			case "ReadFile":
				got, err = c.ReadFile(ctx, "f")
			case "InitOnce":
				got, err = c.InitOnce(ctx, "f", func(context.Context) ([]byte, error) {
					t.Error("InitOnce ran gen for a file that exists")
					return []byte("gen\n"), nil
				})
			case "Update":
				err = c.UpdateContext(ctx, "f", func(_ context.Context, old []byte, _ bool) ([]byte, error) {
					got = old
					return append(old, "more\n"...), nil
				})
			}
			if cerr := <-caught; cerr != nil {
				t.Fatal(cerr)
			}
			if err != nil {
				t.Fatalf("%s while the view shows a larger old content = %v; want the committed %q once the view catches up", op, err, small)
			}
			if !bytes.Equal(got, small) {
				t.Errorf("%s read %q; want %q", op, got, small)
			}
		})
	}
}
