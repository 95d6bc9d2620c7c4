package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// A log whose base name leaves room for the rotated names (200 bytes at
// most) rotates, with Gzip and with CopyTruncate too; a longer one is refused
// before anything is done (ENAMETOOLONG, ErrInvalidName), with the live file
// as it was, where the link, the .gz or the copytruncate marker would fail
// midway.
func TestRotateNameLengthLimit(t *testing.T) {
	for _, tc := range []struct {
		n    int
		opts []LogOption
		ok   bool
	}{
		{200, nil, true}, {200, []LogOption{Gzip()}, true}, {200, []LogOption{CopyTruncate()}, true},
		{201, nil, false}, {230, []LogOption{Gzip()}, false}, {250, []LogOption{CopyTruncate()}, false},
	} {
		t.Run(fmt.Sprint(tc.n, len(tc.opts)), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			name := strings.Repeat("l", tc.n)
			a := c.Appender(name)
			defer a.Close()
			if err := a.Append(ctx, []byte("a 1\n")); err != nil {
				t.Fatalf("Append: %v", err)
			}
			r, err := c.Rotate(ctx, name, tc.opts...)
			if !tc.ok {
				if !errors.Is(err, syscall.ENAMETOOLONG) || !errors.Is(err, writer.ErrInvalidName) {
					t.Fatalf("Rotate of a %d-byte name = %+v, %v; want ENAMETOOLONG", tc.n, r, err)
				}
				ents, _ := os.ReadDir(root)
				if len(ents) != 2 || readFile(t, filepath.Join(root, name)) != "a 1\n" {
					t.Fatalf("after the refused rotation: %d entries, live file %q; want it as it was", len(ents), readFile(t, filepath.Join(root, name)))
				}
				return
			}
			if err != nil || r.Name == "" {
				t.Fatalf("Rotate of a %d-byte name = %+v, %v", tc.n, r, err)
			}
			if err := a.Append(ctx, []byte("b 2\n")); err != nil {
				t.Fatalf("Append after Rotate: %v", err)
			}
			lines, _ := logLines(t, c, name)
			if got, want := strings.Join(lines, ""), "a 1\nb 2\n"; got != want {
				t.Errorf("log holds %q; want %q", got, want)
			}
		})
	}
}

// An appender with RotateAtSize on a name too long to rotate keeps
// committing its records once the file reaches the size (it does not
// rotate).
func TestAppendRotateAtSizeNameTooLong(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	name := strings.Repeat("m", 240)
	a := c.Appender(name, RotateAtSize(8), MaxBatchDelay(0))
	defer a.Close()
	for i := range 5 {
		if err := a.Append(ctx, fmt.Appendf(nil, "w %d\n", i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// A program that writes its own log and reopens it after a rotation (the
// link rotation, not copytruncate): every rotation that finds a non-empty
// live file rotates it.
func TestRotateProgramLogTwice(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	live := filepath.Join(root, "prog.log")
	mustWrite(t, live, "first 1\n")
	r1, err := c.Rotate(ctx, "prog.log")
	if err != nil || r1.Name == "" {
		t.Fatalf("first Rotate: %+v, %v", r1, err)
	}
	// The program reopens its log (SIGHUP) and writes on.
	f, err := os.OpenFile(live, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("second 2\n")
	f.Close()
	r2, err := c.Rotate(ctx, "prog.log")
	if err != nil {
		t.Fatalf("second Rotate: %v", err)
	}
	if r2.Name == "" {
		t.Fatalf("second Rotate rotated nothing; live file holds %q", readFile(t, live))
	}
	if got, want := readFile(t, filepath.Join(root, r2.Name)), "second 2\n"; got != want {
		t.Errorf("second rotated file holds %q; want %q", got, want)
	}
	if got := readFile(t, live); got != "" {
		t.Errorf("live file holds %q after rotation; want empty", got)
	}
}

// A log truncated outside sharedwrite (an external logrotate copytruncate,
// an operator's `: > app.log`): the next append must not fill the gap up
// to the old committed length with NUL bytes.
func TestAppendAfterExternalTruncate(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("a 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(root, "app.log"), 0); err != nil {
		t.Fatal(err)
	}
	err := a.Append(ctx, []byte("b 2\n"))
	got := readFile(t, filepath.Join(root, "app.log"))
	if bytes.IndexByte([]byte(got), 0) >= 0 {
		t.Errorf("append after an external truncate: err %v; log holds %q (NUL bytes)", err, got)
	}
}

// The live file removed or replaced outside sharedwrite (an operator's rm,
// an external `mv new app.log`) between two batches: the appender's next
// acknowledged record must be in the file now at the name, not in the
// unlinked inode its open descriptor still points to.
func TestAppendAfterExternalRemoveOrReplace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		between func(t *testing.T, live string)
	}{
		{"removed", func(t *testing.T, live string) {
			if err := os.Remove(live); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, live string) {
			mustWrite(t, live+".new", "")
			if err := os.Rename(live+".new", live); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			a := c.Appender("app.log")
			defer a.Close()
			if err := a.Append(ctx, []byte("a 1\n")); err != nil {
				t.Fatal(err)
			}
			live := filepath.Join(root, "app.log")
			tc.between(t, live)
			err := a.Append(ctx, []byte("b 2\n"))
			if err != nil {
				t.Logf("Append after the external change: %v", err)
				return // refusing is acceptable; acknowledging into the void is not
			}
			b, rerr := os.ReadFile(live)
			if !bytes.Contains(b, []byte("b 2\n")) {
				t.Errorf("Append acknowledged \"b 2\" but app.log holds %q (read error %v): the record went to an unlinked inode", b, rerr)
			}
		})
	}
}

// Empty records, records with newlines, binary records and a record larger
// than MaxBatchBytes round-trip through a framed log.
func TestAppendFramedOddRecords(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("wal", Framed(), MaxBatchBytes(16), MaxBatchDelay(0))
	recs := [][]byte{
		{},
		[]byte("a\nb\n\n"),
		{0, 1, 2, 'S', 'W', 'B', '1', 0xff},
		bytes.Repeat([]byte("x"), 100),
		{},
		[]byte("SWB1"),
	}
	var want []byte
	for _, r := range recs {
		if err := a.Append(ctx, r); err != nil {
			t.Fatalf("Append(%q): %v", r, err)
		}
		want = append(want, r...)
	}
	a.Close()
	data, frames := checkFrames(t, filepath.Join(root, "wal"), want)
	for _, f := range frames {
		if len(f) > 16 && len(f) != 100 {
			t.Errorf("frame of %d bytes: larger than MaxBatchBytes(16) and not the single large record", len(f))
		}
	}
	// A torn frame at the end is refused.
	if _, err := ReadFrames(data[:len(data)-1]); !errors.Is(err, ErrBadFrame) {
		t.Errorf("ReadFrames of a torn tail: %v; want ErrBadFrame", err)
	}
}
