package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStaleReadCountedOncePerRead: a fresh read that sees a file matching no
// recorded version, and then the committed one (an old view that a cache
// served for a while), counts one stale read retried, however many times it
// re-read the file meanwhile. Before, the counter grew with each re-read of
// the backoff (8 for one read that waited 300 ms).
func TestStaleReadCountedOncePerRead(t *testing.T) {
	for _, op := range []string{"read", "update"} {
		t.Run(op, func(t *testing.T) {
			tr := newTelRig(t)
			root := t.TempDir()
			c := open(t, local, root, append(tr.opts(), WithStaleWindow(5*time.Second))...)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "f", []byte("committed"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, "f")
			replace := func(content string) {
				if err := os.WriteFile(p+".new", []byte(content), 0o644); err != nil {
					t.Error(err)
				}
				if err := os.Rename(p+".new", p); err != nil {
					t.Error(err)
				}
			}
			replace("an old view")
			back := make(chan struct{})
			go func() {
				defer close(back)
				time.Sleep(time.Second) // the read starts long before
				replace("committed")
			}()
			var got []byte
			var err error
			if op == "read" {
				got, err = c.ReadFile(ctx, "f")
			} else {
				err = c.Update(ctx, "f", func(old []byte, _ bool) ([]byte, error) { got = old; return old, nil })
			}
			<-back
			if err != nil || string(got) != "committed" {
				t.Fatalf("%s = %q, %v; want the committed content once it is back", op, got, err)
			}
			if n := tr.counter(t, MetricStaleRetried); n != 1 {
				t.Errorf("%s = %d; want 1 (one read that was retried)", MetricStaleRetried, n)
			}
			if n := tr.counter(t, MetricOutsideEdits); n != 0 {
				t.Errorf("%s = %d; want 0 (the committed file came back)", MetricOutsideEdits, n)
			}
		})
	}
}
