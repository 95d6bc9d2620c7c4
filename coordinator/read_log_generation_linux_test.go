//go:build linux

package coordinator

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestReadLogAcrossRotationReturnsOneGeneration holds up a lease-free read of
// a log (ReadFile; InitOnce of an existing file) between its read of the
// record (an append's version: generation 0, 21 bytes) and its read of the
// file; meanwhile the log is rotated and a longer record appended to the new
// live file. The file is as long as the version it read says, but it is
// another generation: the read returns the new generation's committed
// content, not its first 21 bytes as the old version's, and without waiting
// out the stale-view window.
func TestReadLogAcrossRotationReturnsOneGeneration(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(ctx context.Context, c *Coordinator) ([]byte, error)
	}{
		{"ReadFile", func(ctx context.Context, c *Coordinator) ([]byte, error) { return c.ReadFile(ctx, "app.log") }},
		{"InitOnce", func(ctx context.Context, c *Coordinator) ([]byte, error) {
			return c.InitOnce(ctx, "app.log", func(context.Context) ([]byte, error) {
				return nil, errors.New("generator ran for a file that exists")
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := faultfs.Mount(t, faultfs.Options{})
			ctx := ctxT(t, time.Minute)
			writerC := open(t, local, fs.Backing)
			app := writerC.Appender("app.log")
			if err := app.Append(ctx, []byte(strings.Repeat("A", 20)+"\n")); err != nil {
				t.Fatal(err)
			}
			app.Close()
			const window = 20 * time.Second
			logs := &testrig.SyncBuffer{}
			reader := open(t, local, fs.Dir, WithStaleWindow(window), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))

			// The rotation and the append land while the reader is held up
			// between its read of the record and its read of the file.
			want := strings.Repeat("B", 30) + "\n"
			r := readAcross(t, fs, func() ([]byte, error) { return tc.read(ctx, reader) }, func() {
				if _, err := writerC.Rotate(ctx, "app.log"); err != nil {
					t.Fatal(err)
				}
				app2 := writerC.Appender("app.log")
				if err := app2.Append(ctx, []byte(want)); err != nil {
					t.Fatal(err)
				}
				app2.Close()
			})
			if r.err != nil || string(r.data) != want {
				t.Fatalf("read = %q, %v; want the new generation's %q", r.data, r.err, want)
			}
			if r.took >= window {
				t.Errorf("read took %v: it waited out the %v stale-view window", r.took, window)
			}
			if s := logs.String(); strings.Contains(s, "edited outside") {
				t.Errorf("the rotated log was taken for an outside edit:\n%s", s)
			}
		})
	}
}
