//go:build unix

package coordinator

import (
	"context"
	"os"
	"path/filepath"
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

// A live log swapped for a symlink to another file of the root while a
// copytruncate rotation copies it (here: once the copy is published): the
// truncation that ends the rotation never follows the symlink and empties
// the other file, and the log's records stay in the file moved aside.
func TestCopyTruncateNeverTruncatesThroughSymlink(t *testing.T) {
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
		if err := os.Symlink("victim.txt", live); err != nil {
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
	_, err := c.Rotate(ctx, "app.log", CopyTruncate())
	if !swapped {
		t.Fatalf("Rotate = %v; the live file was never swapped (no rename step)", err)
	}
	if got := readFile(t, filepath.Join(root, "victim.txt")); got != "victim\n" {
		t.Errorf("victim.txt holds %q after Rotate (%v); want it as written", got, err)
	}
	if got := readFile(t, live+".moved"); got != "line\n" {
		t.Errorf("the live file moved aside holds %q; want %q", got, "line\n")
	}
}
