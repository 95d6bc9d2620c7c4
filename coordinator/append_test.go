package coordinator

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// logLines returns the lines of the rotated files of root/name (oldest first,
// gzip ones decompressed) followed by the live file's, and how many files
// held at least one line. A last line without '\n' is returned as is, so the
// checks see it as partial.
func logLines(t testing.TB, c *Coordinator, name string) (lines []string, files int) {
	t.Helper()
	rf, err := c.RotatedFiles(name)
	if err != nil {
		t.Fatalf("RotatedFiles: %v", err)
	}
	var paths []string
	for _, f := range rf {
		paths = append(paths, f.Name)
	}
	paths = append(paths, name)
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(c.Root(), p))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		if len(b) == 0 {
			continue
		}
		files++
		s := string(b)
		for len(s) > 0 {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				lines = append(lines, s)
				break
			}
			lines = append(lines, s[:i+1])
			s = s[i+1:]
		}
	}
	return lines, files
}

// checkRecords checks lines of the form "<writer> <seq>\n": each well formed
// (no partial or interleaved line), none twice, and each writer's sequence
// numbers increasing. It returns the sequence numbers seen per writer.
func checkRecords(t testing.TB, lines []string) map[string]map[int]bool {
	t.Helper()
	seen := map[string]map[int]bool{}
	last := map[string]int{}
	bad := 0
	for _, l := range lines {
		w, seq, ok := parseRecord(l)
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("malformed (partial or interleaved) line %q", l)
			}
			continue
		}
		if seen[w] == nil {
			seen[w] = map[int]bool{}
		}
		if seen[w][seq] {
			t.Errorf("record %s %d present twice", w, seq)
		}
		if prev, ok := last[w]; ok && seq <= prev {
			t.Errorf("writer %s: record %d after %d: order not preserved", w, seq, prev)
		}
		seen[w][seq] = true
		last[w] = seq
	}
	return seen
}

func parseRecord(l string) (writer string, seq int, ok bool) {
	body, ok := strings.CutSuffix(l, "\n")
	if !ok {
		return "", 0, false
	}
	w, s, ok := strings.Cut(body, " ")
	if !ok || w == "" || strings.ContainsAny(w, " \n") {
		return "", 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return "", 0, false
	}
	return w, n, true
}

func TestAppendGroupCommitGoroutines(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			c2 := open(t, m, root) // a second "process" on the same volume
			ctx := ctxT(t, time.Minute)
			a, a2 := c.Appender("logs/app.log"), c2.Appender("logs/app.log")
			const workers, each = 8, 150
			var wg sync.WaitGroup
			for w := range workers {
				app := a
				if w%2 == 1 {
					app = a2
				}
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
			lines, _ := logLines(t, c, "logs/app.log")
			seen := checkRecords(t, lines)
			for w := range workers {
				if got := len(seen[fmt.Sprintf("w%d", w)]); got != each {
					t.Errorf("writer w%d: got %d records; want %d", w, got, each)
				}
			}
			rec, err := c.peekRecord("logs/app.log")
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(root, "logs/app.log"))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Committed.Length != fi.Size() {
				t.Errorf("committed length %d; file size %d", rec.Committed.Length, fi.Size())
			}
		})
	}
}

func TestAppendTruncatesUnacknowledgedTail(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("one 1\n")); err != nil {
		t.Fatal(err)
	}
	// A crashed appender's unacknowledged, torn tail.
	f, err := os.OpenFile(filepath.Join(root, "app.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("torn 9")
	f.Close()
	if err := a.Append(ctx, []byte("two 2\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "one 1\ntwo 2\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestAppendPromotesPendingAfterCrash(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	if err := a.Append(ctx, []byte("one 1\n")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// A holder that died after its commit point (data fsynced, pending
	// written) but before writing committed.
	fl, err := c.locks.Open("app.log")
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	rec, err := fl.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	p := rec.Committed
	p.Token = rec.Floor.Token + 1
	p.LeaseID = "dead/1/00"
	p.Length += int64(len("two 2\n"))
	f, err := os.OpenFile(filepath.Join(root, "app.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("two 2\n")
	f.Close()
	if err := fl.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	a = c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("three 3\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "one 1\ntwo 2\nthree 3\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestAppendFramed(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("wal", Framed())
	var want []byte
	for i := range 20 {
		rec := fmt.Appendf(nil, "r %d\n", i)
		want = append(want, rec...)
		if err := a.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	data, _ := checkFrames(t, filepath.Join(root, "wal"), want)
	data[len(data)-2] ^= 1
	if _, err := ReadFrames(data); !errors.Is(err, ErrBadFrame) {
		t.Errorf("ReadFrames of a flipped bit: got %v; want ErrBadFrame", err)
	}
}

func TestAppendWithdrawnOnCancel(t *testing.T) {
	for _, m := range modes {
		// With the default MaxBatchDelay the record's batch is due at once
		// and waits for the key: it is withdrawn all the same (before, only
		// a record still waiting for MaxBatchDelay was; the batch's wait for
		// the lease, BatchTimeout, a minute by default, was not cut short).
		for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s/delay=%v", m, delay), func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				// Hold the key so that the batch cannot start, then cancel the append.
				release := holdKey(t, open(t, m, root), "app.log")
				defer release()
				var opts []LogOption
				if delay > 0 {
					opts = append(opts, MaxBatchDelay(delay))
				}
				a := c.Appender("app.log", opts...)
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				start := time.Now()
				if err := a.Append(ctx, []byte("never 1\n")); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
					t.Errorf("Append: got %v after %v; want DeadlineExceeded at its deadline (the key is still held)", err, time.Since(start).Round(time.Millisecond))
				}
				release()
				if err := a.Append(ctxT(t, 30*time.Second), []byte("later 2\n")); err != nil {
					t.Fatal(err)
				}
				a.Close()
				if got, want := readFile(t, filepath.Join(root, "app.log")), "later 2\n"; got != want {
					t.Errorf("got %q; want %q", got, want)
				}
				if err := a.Append(context.Background(), []byte("x 1\n")); !errors.Is(err, ErrAppenderClosed) {
					t.Errorf("Append after Close: got %v; want ErrAppenderClosed", err)
				}
			})
		}
	}
}

// scanLines is a helper for ack files: the lines of path.
func scanLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// A batch that fails takes the records queued behind it with it: none of them
// is committed after it (a goroutine's later record without its earlier one),
// and records appended afterwards are committed as usual.
func TestAppendFailedBatchAbortsQueued(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	release := holdKey(t, c, "app.log")
	a := c.Appender("app.log", MaxBatchDelay(0), MaxBatchBytes(4), BatchTimeout(500*time.Millisecond))
	defer a.Close()
	first := a.AppendAsync([]byte("a 1\n"))
	time.Sleep(100 * time.Millisecond) // the first batch is waiting for the lock
	second := a.AppendAsync([]byte("b 2\n"))
	err1 := <-first
	release() // the lock is free again before the second could time out
	if err1 == nil {
		t.Fatal("first batch committed while the key was held")
	}
	err2 := <-second
	if !errors.Is(err2, ErrAppendAborted) || !errors.Is(err2, ErrNotObtained) {
		t.Fatalf("record queued behind the failed batch: %v; want ErrAppendAborted wrapping the batch's error", err2)
	}
	if err := a.Append(ctxT(t, 30*time.Second), []byte("c 3\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "c 3\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}

// TestAppendUnlimitedMaxBatchBytes: MaxBatchBytes(math.MaxInt), no size
// limit, is a valid setting: an Append with it commits its record (a batch
// buffer sized by the limit instead of by the records taken would panic in
// the appender's goroutine and take the process down, so the appends run in
// a child process).
func TestAppendUnlimitedMaxBatchBytes(t *testing.T) {
	const env = "SHAREDWRITE_TEST_UNLIMITED_BATCH"
	if dir := os.Getenv(env); dir != "" {
		c := open(t, local, dir)
		a := c.Appender("app.log", MaxBatchBytes(math.MaxInt))
		defer a.Close()
		for _, r := range []string{"one 1\n", "two 2\n"} {
			if err := a.Append(ctxT(t, 30*time.Second), []byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendUnlimitedMaxBatchBytes$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Appends with MaxBatchBytes(math.MaxInt) crashed or failed: %v\n%s", err, tail(out, 12))
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "one 1\ntwo 2\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}

// TestAppendBatchBufferSizedByRecords: a batch's buffer is as large as the
// records it holds (plus a frame header), not as MaxBatchBytes: small appends
// with a 256 MiB limit allocate far less than the limit.
func TestAppendBatchBufferSizedByRecords(t *testing.T) {
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			opts := []LogOption{MaxBatchBytes(256 << 20)}
			if framed {
				opts = append(opts, Framed())
			}
			a := c.Appender("app.log", opts...)
			defer a.Close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range 4 {
				if err := a.Append(ctx, fmt.Appendf(nil, "w %d\n", i)); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
				t.Errorf("4 small appends allocated %d MiB; want well below the 256 MiB batch limit", got>>20)
			}
		})
	}
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if lines++; lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// A framed batch never grows past what a frame's 32-bit length holds, however
// large MaxBatchBytes is; an unframed one keeps the limit given.
func TestFramedBatchLimit(t *testing.T) {
	if got := newLogConfig([]LogOption{Framed(), MaxBatchBytes(math.MaxInt)}).maxBytes; int64(got) != maxFramePayload {
		t.Errorf("framed MaxBatchBytes(MaxInt): limit %d; want %d", got, int64(maxFramePayload))
	}
	if got := newLogConfig([]LogOption{MaxBatchBytes(math.MaxInt)}).maxBytes; got != math.MaxInt {
		t.Errorf("unframed MaxBatchBytes(MaxInt): limit %d; want it as given", got)
	}
}

// checkFrames reads the framed log p and checks that its frames' payloads,
// joined, are want; it returns the file's bytes and the frames.
func checkFrames(t *testing.T, p string, want []byte) ([]byte, [][]byte) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := ReadFrames(data)
	if err != nil {
		t.Fatalf("ReadFrames: %v", err)
	}
	if got := bytes.Join(frames, nil); !bytes.Equal(got, want) {
		t.Errorf("payloads %q; want %q", got, want)
	}
	return data, frames
}
