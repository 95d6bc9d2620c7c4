package coordinator

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestReadFileDuringWrites: a lease-free ReadFile racing writes by another
// coordinator on the same volume returns a whole recorded version at once: a
// file newer than the record it read first is not a stale view to wait out,
// nor an outside edit to warn about.
func TestReadFileDuringWrites(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			const window = 3 * time.Second
			w := open(t, m, root)
			logs := &testrig.SyncBuffer{}
			r := open(t, m, root, WithStaleWindow(window), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			ctx := ctxT(t, time.Minute)
			version := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("v%06d\n", i)), 512) }
			if err := w.WriteFile(ctx, "f", version(0), 0o644); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := w.WriteFile(ctx, "f", version(i), 0o644); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			var slowest time.Duration
			for range 300 {
				start := time.Now()
				b, err := r.ReadFile(ctx, "f")
				slowest = max(slowest, time.Since(start))
				if err != nil {
					t.Fatal(err)
				}
				var n int
				if _, err := fmt.Sscanf(string(b), "v%06d\n", &n); err != nil || !bytes.Equal(b, version(n)) {
					t.Fatalf("read %d bytes that are no whole version", len(b))
				}
			}
			close(stop)
			wg.Wait()
			if slowest >= window {
				t.Errorf("the slowest ReadFile took %v: it waited out the %v stale-view window", slowest, window)
			}
			if s := logs.String(); strings.Contains(s, "edited outside") {
				t.Errorf("a read during writes was taken for an outside edit:\n%s", s)
			}
		})
	}
}
