//go:build unix

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// startHook is a span processor that calls fn with the name of each span
// as it starts: the steps of an operation, in order.
type startHook struct{ fn func(name string) }

func (h startHook) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) { h.fn(s.Name()) }
func (startHook) OnEnd(sdktrace.ReadOnlySpan)                           {}
func (startHook) Shutdown(context.Context) error                        { return nil }
func (startHook) ForceFlush(context.Context) error                      { return nil }

// A live log moved aside while a copytruncate rotation copies it (here: once
// the copy is published), and something else put at its name: a symlink to
// another file of the root, or a new file with content (as logrotate's
// "create" does). The truncation that ends the rotation empties neither the
// symlink's target nor the new file, whose content was never copied: the
// rotation is refused (ELOOP, ESTALE) and withdrawn, its copy removed, and
// the file moved aside still holds the records.
func TestCopyTruncateTruncatesOnlyTheFileItRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		put   func(live string) error
		errno syscall.Errno
		left  string // the file that must keep its content, relative to the root
		holds string
	}{
		{"symlink", func(live string) error { return os.Symlink("victim.txt", live) }, syscall.ELOOP, "victim.txt", "victim\n"},
		{"new file", func(live string) error { return os.WriteFile(live, []byte("new\n"), 0o644) }, syscall.ESTALE, "app.log", "new\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			live := filepath.Join(root, "app.log")
			swapped := false
			swap := func(name string) {
				if name != "rename" || swapped {
					return
				}
				swapped = true
				if err := os.Rename(live, live+".moved"); err != nil {
					t.Error(err)
				}
				if err := tc.put(live); err != nil {
					t.Error(err)
				}
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(startHook{swap}))
			t.Cleanup(func() { tp.Shutdown(context.Background()) })
			c := open(t, local, root, WithTracerProvider(tp))
			ctx := ctxT(t, 30*time.Second)
			if err := os.WriteFile(filepath.Join(root, "victim.txt"), []byte("victim\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			a := c.Appender("app.log")
			defer a.Close()
			if err := a.Append(ctx, []byte("line\n")); err != nil {
				t.Fatal(err)
			}
			r, err := c.Rotate(ctx, "app.log", CopyTruncate())
			if !swapped {
				t.Fatalf("Rotate = %v; the live file was never replaced (no rename step)", err)
			}
			if got := readFile(t, filepath.Join(root, tc.left)); got != tc.holds {
				t.Errorf("%s holds %q after Rotate (%v); want %q", tc.left, got, err, tc.holds)
			}
			if !errors.Is(err, tc.errno) || r.Name != "" {
				t.Errorf("Rotate = %+v, %v; want no rotation and an error wrapping %v", r, err, tc.errno)
			}
			if got := readFile(t, live+".moved"); got != "line\n" {
				t.Errorf("the live file moved aside holds %q; want %q", got, "line\n")
			}
			files, lerr := c.RotatedFiles("app.log")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(files) != 0 {
				t.Errorf("rotated files %v after the refused rotation; want none (its copy removed)", files)
			}
		})
	}
}
