package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rotatedRE matches NAME.<UTC time to the ns>.<token>[.gz] for NAME app.log.
var rotatedRE = regexp.MustCompile(`^app\.log\.\d{8}T\d{6}\.\d{9}Z\.\d+(\.gz)?$`)

// logContents returns the rotated files' contents (oldest first, decompressed)
// followed by the live file's, skipping empty ones.
func logContents(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if rotatedRE.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the fixed-width UTC time sorts them by rotation
	names = append(names, "app.log")
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
		}
		if len(b) > 0 {
			out = append(out, string(b))
		}
	}
	return out
}

// TestAppendRotateCLI: 4 `sharedwrite append` processes, each fed ≥ 2,000
// lines at a paced rate, while `sharedwrite rotate --gzip` runs 5 times: every
// line present exactly once across the live and rotated files, each writer's
// order kept, no partial line, lines in ≥ 3 files.
func TestAppendRotateCLI(t *testing.T) {
	m := mode{name: "redis", redis: needRedis(t).URL()}
	v := newVolume(t, m)
	const procs, each = 4, 2000
	// The feeders go on past `each` lines until the rotations are done, so
	// that appends run during every rotation however slowly this machine
	// runs the rotations; written counts what each fed.
	rotating := make(chan struct{})
	var endRotating sync.Once
	stopFeeding := func() { endRotating.Do(func() { close(rotating) }) }
	written := make([]int, procs)
	var wg sync.WaitGroup
	defer func() {
		// On a failure below too: the feeders stop and the appenders
		// exit at the end of their stdin.
		stopFeeding()
		wg.Wait()
	}()
	for p := range procs {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, swBin, v.args("append", "app.log")...)
		cmd.Env = baseEnv()
		cmd.Stdin = pr
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pw.Close()
			i := 0
			for ; i < each || isOpen(rotating); i++ {
				if _, err := fmt.Fprintf(pw, "p%d %d\n", p, i); err != nil {
					break // the appender is gone; its exit is reported below
				}
				if i%4 == 3 {
					time.Sleep(8 * time.Millisecond)
				}
			}
			written[p] = i
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			// Nothing reads the pipe any more: a feeder still writing
			// must fail, not block.
			pr.Close()
			if err != nil {
				t.Errorf("append p%d: %v: %s", p, err, errb.String())
			}
		}()
	}
	var rotated []string
	for range 5 {
		time.Sleep(600 * time.Millisecond)
		// Rotating an empty log rotates nothing and prints nothing: wait
		// for lines appended since the last rotation.
		waitNonEmpty(t, filepath.Join(v.root, "app.log"), 30*time.Second)
		r := v.run(t, "", "rotate", "app.log", "--gzip")
		if r.code != 0 {
			t.Fatalf("rotate: exit %d: %s", r.code, r.stderr)
		}
		name := strings.TrimSpace(r.stdout)
		if !rotatedRE.MatchString(name) || !strings.HasSuffix(name, ".gz") {
			t.Errorf("rotate printed %q; want app.log.<time>.<token>.gz", name)
		}
		rotated = append(rotated, name)
	}
	stopFeeding()
	wg.Wait()
	t.Logf("rotated: %q; lines fed: %v", rotated, written)

	files := logContents(t, v.root)
	if len(files) < 3 {
		t.Errorf("lines in %d files; want ≥ 3", len(files))
	}
	next := make([]int, procs)
	for _, content := range files {
		if !strings.HasSuffix(content, "\n") {
			t.Errorf("a file ends with a partial line: %q", content[max(0, len(content)-20):])
		}
		for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
			var p, i int
			if n, err := fmt.Sscanf(l, "p%d %d", &p, &i); n != 2 || err != nil || p < 0 || p >= procs || l != fmt.Sprintf("p%d %d", p, i) {
				t.Fatalf("malformed (partial or interleaved) line %q", l)
			}
			if i != next[p] {
				t.Fatalf("writer p%d: line %d where %d was due (lost, duplicated or reordered)", p, i, next[p])
			}
			next[p]++
		}
	}
	for p, n := range next {
		if n != written[p] || n < each {
			t.Errorf("writer p%d: %d lines; want the %d it was fed (≥ %d)", p, n, written[p], each)
		}
	}
}

// waitNonEmpty waits until path exists and holds at least one byte.
func waitNonEmpty(t *testing.T, path string, d time.Duration) {
	t.Helper()
	waitStat(t, path, d, "exist and hold at least one byte", func(fi os.FileInfo) bool { return fi.Size() > 0 })
}

// TestRotateCLIOptions: --keep prunes, --copytruncate keeps the file a
// program holds open, and a failing append names what it committed.
func TestRotateCLIOptions(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for i := range 3 {
		if r := v.run(t, "r"+strconv.Itoa(i)+" 1\nlast", "append", "app.log"); r.code != 0 {
			t.Fatalf("append: exit %d: %s", r.code, r.stderr)
		}
		if r := v.run(t, "", "rotate", "app.log", "--keep", "2"); r.code != 0 {
			t.Fatalf("rotate: exit %d: %s", r.code, r.stderr)
		}
	}
	files := logContents(t, v.root)
	if got, want := strings.Join(files, "|"), "r1 1\nlast\n|r2 1\nlast\n"; got != want {
		t.Errorf("after 3 rotations with --keep 2: %q; want %q", got, want)
	}
	if r := v.run(t, "", "rotate", "app.log"); r.code != 0 || r.stdout != "" {
		t.Errorf("rotate of an empty log: exit %d, printed %q; want 0 and nothing", r.code, r.stdout)
	}

	prog, err := os.OpenFile(filepath.Join(v.root, "prog.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.WriteString("before\n")
	r := v.run(t, "", "rotate", "prog.log", "--copytruncate", "--gzip")
	if r.code != 0 {
		t.Fatalf("rotate --copytruncate: exit %d: %s", r.code, r.stderr)
	}
	prog.WriteString("after\n")
	if got := readAll(t, filepath.Join(v.root, "prog.log")); got != "after\n" {
		t.Errorf("live file after copytruncate: %q; want %q", got, "after\n")
	}
	gz := strings.TrimSpace(r.stdout)
	b, err := os.ReadFile(filepath.Join(v.root, gz))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); string(got) != "before\n" {
		t.Errorf("rotated copy %s: %q; want %q", gz, got, "before\n")
	}
	if r := v.run(t, "", "rotate", "app.log", "--keep", "-1"); r.code != 2 {
		t.Errorf("rotate --keep -1: exit %d; want 2", r.code)
	}
}

func readAll(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
