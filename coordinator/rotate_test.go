package coordinator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

func TestRotateDuringAppendsGoroutines(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			a := c.Appender("app.log")
			const workers, each, rotations = 4, 200, 4
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if err := a.Append(ctx, fmt.Appendf(nil, "w%d %d\n", w, i)); err != nil {
							t.Errorf("Append: %v", err)
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			// The live file never disappears, whatever the rotations do.
			stop := make(chan struct{})
			var gone atomic.Int32
			go func() {
				seen := false // missing only before the first append creates it
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := os.Stat(filepath.Join(root, "app.log"))
					switch {
					case err == nil:
						seen = true
					case errors.Is(err, os.ErrNotExist) && seen:
						gone.Add(1)
					}
				}
			}()
			var gens []uint64
			for range rotations {
				time.Sleep(60 * time.Millisecond)
				r, err := c.Rotate(ctx, "app.log", Gzip())
				if err != nil {
					t.Fatalf("Rotate: %v", err)
				}
				if r.Name != "" && !strings.HasSuffix(r.Name, ".gz") {
					t.Errorf("rotated name %q; want a .gz", r.Name)
				}
				gens = append(gens, r.Generation)
			}
			wg.Wait()
			close(stop)
			a.Close()
			if gone.Load() != 0 {
				t.Errorf("the live file disappeared during a rotation")
			}
			lines, files := logLines(t, c, "app.log")
			seen := checkRecords(t, lines)
			for w := range workers {
				if got := len(seen[fmt.Sprintf("w%d", w)]); got != each {
					t.Errorf("writer w%d: got %d records; want %d", w, got, each)
				}
			}
			if files < 3 {
				t.Errorf("records in %d files; want ≥ 3", files)
			}
			rf, _ := c.RotatedFiles("app.log")
			for _, f := range rf {
				if !f.Gzip {
					t.Errorf("plain rotated file %s left after a gzip rotation", f.Name)
				}
			}
			if gens[len(gens)-1] == 0 {
				t.Errorf("generation not bumped: %v", gens)
			}
		})
	}
}

func TestRotateKeepAndMaxAge(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	for i := range 4 {
		if err := a.Append(ctx, fmt.Appendf(nil, "w %d\n", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Rotate(ctx, "app.log", Keep(2)); err != nil {
			t.Fatal(err)
		}
	}
	rf, err := c.RotatedFiles("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(rf) != 2 {
		t.Fatalf("got %d rotated files; want 2 (Keep(2))", len(rf))
	}
	if got, want := readFile(t, filepath.Join(root, rf[1].Name)), "w 3\n"; got != want {
		t.Errorf("newest rotated file holds %q; want %q", got, want)
	}
	// An empty live file is not rotated; an old rotated file goes by age.
	if err := a.Append(ctx, []byte("w 4\n")); err != nil {
		t.Fatal(err)
	}
	r, err := c.Rotate(ctx, "app.log", MaxAge(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Removed) != 3 {
		t.Errorf("removed %q; want all 3 rotated files (older than 1ns)", r.Removed)
	}
	if r, err := c.Rotate(ctx, "app.log"); err != nil || r.Name != "" {
		t.Errorf("Rotate of an empty live file: got %+v, %v; want nothing rotated", r, err)
	}
}

func TestRotateKeepsMode(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log", LogPerm(0o600))
	defer a.Close()
	if err := a.Append(ctx, []byte("w 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "app.log"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rotate(ctx, "app.log"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("new live file mode %v; want 0640", got)
	}
	if fi.Size() != 0 {
		t.Errorf("new live file holds %d bytes; want 0", fi.Size())
	}
}

func TestRotateCopyTruncate(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	// A program that writes its own log and never reopens it.
	f, err := os.OpenFile(filepath.Join(root, "prog.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("a 1\nb 2\n")
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, r.Name)), "a 1\nb 2\n"; got != want {
		t.Errorf("rotated copy holds %q; want %q", got, want)
	}
	f.WriteString("c 3\n")
	if got, want := readFile(t, filepath.Join(root, "prog.log")), "c 3\n"; got != want {
		t.Errorf("live file holds %q after copytruncate; want %q", got, want)
	}
	if r.Generation != 1 {
		t.Errorf("generation %d; want 1", r.Generation)
	}
}

// A rotator that died after its pending record and its link, before the
// rename: the next append completes the rotation instead of writing into the
// rotated file (which the link made the same file as the live one).
func TestRotateCompletesDeadRotation(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("old 1\n")); err != nil {
		t.Fatal(err)
	}
	fl, rec := lockRecord(t, c, ctx, "app.log")
	p := deadRotation(rec)
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	rotated := rotatedName("app.log", p.Time, p.Token)
	if err := os.Link(filepath.Join(root, "app.log"), filepath.Join(root, rotated)); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()

	if err := a.Append(ctx, []byte("new 1\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, rotated)), "old 1\n"; got != want {
		t.Errorf("rotated file holds %q; want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "new 1\n"; got != want {
		t.Errorf("live file holds %q; want %q", got, want)
	}
}

func TestAppendRotateAtSize(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	a := c.Appender("app.log", RotateAtSize(2000), Gzip(), MaxBatchBytes(512))
	c2 := open(t, local, root)
	a2 := c2.Appender("app.log", RotateAtSize(2000), Gzip(), MaxBatchBytes(512))
	const each = 600
	var wg sync.WaitGroup
	for w, app := range []*Appender{a, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := app.Append(ctx, fmt.Appendf(nil, "w%d %d\n", w, i)); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	a2.Close()
	lines, files := logLines(t, c, "app.log")
	seen := checkRecords(t, lines)
	for w := range 2 {
		if got := len(seen[fmt.Sprintf("w%d", w)]); got != each {
			t.Errorf("writer w%d: got %d records; want %d", w, got, each)
		}
	}
	// About 2*600*7 bytes over files rotated at 2000 bytes.
	if files < 3 {
		t.Errorf("records in %d files; want ≥ 3 (size-based rotation)", files)
	}
	fi, err := os.Stat(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= 2000+512 {
		t.Errorf("live file is %d bytes; want below the limit plus one batch", fi.Size())
	}
}

// A dead holder's rotation whose link cannot be made (here: the rotated name
// is taken by another file) never began: it is withdrawn, the other file is
// left alone, and appends go on in the live file.
func TestRotateWithdrawsRotationThatCannotComplete(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("old 1\n")); err != nil {
		t.Fatal(err)
	}
	fl, rec := lockRecord(t, c, ctx, "app.log")
	p := deadRotation(rec)
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	rotated := rotatedName("app.log", p.Time, p.Token)
	mustWrite(t, filepath.Join(root, rotated), "someone else's\n")

	if err := a.Append(ctx, []byte("new 1\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, rotated)), "someone else's\n"; got != want {
		t.Errorf("file at the rotated name holds %q; want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "old 1\nnew 1\n"; got != want {
		t.Errorf("live file holds %q; want %q", got, want)
	}
	rec, err := c.peekRecord("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Generation != p.Generation-1 {
		t.Errorf("generation %d after a withdrawn rotation; want %d", rec.Committed.Generation, p.Generation-1)
	}
}

// TestRotateCompressesLeftovers: a gzip rotation also compresses the plain
// rotated files an earlier rotator left (rotated over a minute ago), and
// leaves alone a plain one rotated just now (which its rotator may be
// compressing).
func TestRotateCompressesLeftovers(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			a := c.Appender("app.log")
			defer a.Close()
			rotate := func(line string, opts ...LogOption) Rotation {
				t.Helper()
				if err := a.Append(ctx, []byte(line)); err != nil {
					t.Fatal(err)
				}
				r, err := c.Rotate(ctx, "app.log", opts...)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			// A plain rotated file from two minutes ago: its rotator did not
			// compress it.
			r1 := rotate("one\n")
			rf, err := c.RotatedFiles("app.log")
			if err != nil || len(rf) != 1 {
				t.Fatalf("RotatedFiles: %v, %v", rf, err)
			}
			old := rotatedName("app.log", rf[0].Time.Add(-2*time.Minute), rf[0].Token)
			if err := os.Rename(filepath.Join(root, r1.Name), filepath.Join(root, old)); err != nil {
				t.Fatal(err)
			}
			recent := rotate("two\n")
			rotate("three\n", Gzip())

			rf, err = c.RotatedFiles("app.log")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, f := range rf {
				got[f.Name] = true
			}
			want := []string{old + ".gz", recent.Name}
			for _, n := range want {
				if !got[n] {
					t.Errorf("rotated files %v; want %s among them", rf, n)
				}
			}
			if got[old] {
				t.Errorf("the leftover %s is still plain", old)
			}
			if len(rf) != 3 {
				t.Errorf("rotated files %v; want 3", rf)
			}
			lines, _ := logLines(t, c, "app.log")
			if s := strings.Join(lines, ""); s != "one\ntwo\nthree\n" {
				t.Errorf("records across the rotated files: %q", s)
			}
		})
	}
}

// TestRotateCompletesDeadCopyTruncateInPlace: a copytruncate rotator that
// died after publishing its copy, before the truncation, leaves a pending
// rotation that the next holder completes as a copytruncate — by truncating
// the live file in place, never by renaming a new file over it — because the
// program writing the log keeps its descriptor and never reopens the file.
func TestRotateCompletesDeadCopyTruncateInPlace(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	live := filepath.Join(root, "prog.log")
	// A program that writes its own log and never reopens it.
	prog, err := os.OpenFile(live, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	progWrite := func(s string) {
		t.Helper()
		if _, err := prog.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	progWrite("a 1\nb 2\n")
	// A first copytruncate rotation, so the key has a record.
	if _, err := c.Rotate(ctx, "prog.log", CopyTruncate()); err != nil {
		t.Fatal(err)
	}
	progWrite("c 3\n")

	// The second copytruncate rotator's steps, up to its death: its marker
	// (.<rotated name>.sw-ct), its pending record, its copy published at the
	// rotated name; no truncation.
	fl, rec := lockRecord(t, c, ctx, "prog.log")
	p := deadRotation(rec)
	rotated := rotatedName("prog.log", p.Time, p.Token)
	marker := filepath.Join(root, "."+rotated+".sw-ct")
	mustWrite(t, marker, "")
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	mustWrite(t, filepath.Join(root, rotated), "c 3\n")

	// The next holder (here: the next copytruncate Rotate) completes it.
	if _, err := c.Rotate(ctx, "prog.log", CopyTruncate()); err != nil {
		t.Fatal(err)
	}
	progWrite("d 4\n")

	pfi, err := prog.Stat()
	if err != nil {
		t.Fatal(err)
	}
	lfi, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(pfi, lfi) {
		t.Errorf("the completed copytruncate rotation replaced prog.log: the program's descriptor points at an unlinked file")
	}
	if got, want := readFile(t, live), "d 4\n"; got != want {
		t.Errorf("prog.log holds %q; want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(root, rotated)), "c 3\n"; got != want {
		t.Errorf("the dead rotator's copy holds %q; want %q", got, want)
	}
	if _, err := os.Lstat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker of the completed rotation: %v; want it removed", err)
	}
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\nd 4\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q, each record once", got, want)
	}
}

// TestRotateDeadCopyTruncateAfterProgramWroteIsWithdrawn: when the program
// wrote more after a dead copytruncate rotator's copy, truncating in place
// would lose those writes: the pending rotation is withdrawn and its copy
// removed instead, and the Rotate that found it makes its own.
func TestRotateDeadCopyTruncateAfterProgramWroteIsWithdrawn(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	live := filepath.Join(root, "prog.log")
	mustWrite(t, live, "a 1\n")
	if _, err := c.Rotate(ctx, "prog.log", CopyTruncate()); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, live, "b 2\n")
	fl, rec := lockRecord(t, c, ctx, "prog.log")
	p := deadRotation(rec)
	rotated := rotatedName("prog.log", p.Time, p.Token)
	mustWrite(t, filepath.Join(root, "."+rotated+".sw-ct"), "")
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	mustWrite(t, filepath.Join(root, rotated), "b 2\n")
	mustWrite(t, live, "b 2\nc 3\n") // the program wrote after the copy

	if _, err := c.Rotate(ctx, "prog.log", CopyTruncate()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, rotated)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the withdrawn rotation's copy: %v; want it removed", err)
	}
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q, each record once", got, want)
	}
}

// deadRotation is the pending version of a rotation after rec by a holder
// that then died (lease "dead/1/00"): the next token and generation.
func deadRotation(rec locking.Record) locking.Version {
	return locking.Version{Token: rec.Floor.Token + 1, LeaseID: "dead/1/00", Generation: rec.Committed.Generation + 1, Time: time.Now().UTC()}
}
