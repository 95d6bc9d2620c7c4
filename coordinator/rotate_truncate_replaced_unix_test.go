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

// A live log moved aside and created anew with content while a copytruncate
// rotation copies it (here: once the copy is published), as logrotate's
// "create" does: the truncation that ends the rotation never empties the new
// file, whose content was never copied. The rotation is refused (ESTALE) and
// withdrawn, its copy removed: the file moved aside still holds the records.
func TestCopyTruncateNeverTruncatesFileCreatedAtName(t *testing.T) {
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
		if err := os.WriteFile(live, []byte("new\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(startHook{swap}))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	c := open(t, local, root, WithTracerProvider(tp))
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("line\n")); err != nil {
		t.Fatal(err)
	}
	r, err := c.Rotate(ctx, "app.log", CopyTruncate())
	if !swapped {
		t.Fatalf("Rotate = %v; the live file was never replaced (no rename step)", err)
	}
	if got := readFile(t, live); got != "new\n" {
		t.Errorf("the file created at the name holds %q after Rotate (%v); want %q", got, err, "new\n")
	}
	if !errors.Is(err, syscall.ESTALE) || r.Name != "" {
		t.Errorf("Rotate = %+v, %v; want no rotation and an error wrapping ESTALE", r, err)
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
}
