//go:build linux

package coordinator

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rotatedLogLines returns the lines of app.log's rotated files (a rotation
// present both plain and .gz counted once, after checking they agree) and of
// the live file.
func rotatedLogLines(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{} // rotation name (no .gz) -> content
	var names []string
	for _, e := range ents {
		n := e.Name()
		if _, ok := parseRotated("app.log", n); !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		base, gz := strings.CutSuffix(n, ".gz")
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
		}
		if prev, ok := contents[base]; ok {
			if !bytes.Equal(prev, b) {
				t.Errorf("%s: plain and .gz differ", base)
			}
			continue
		}
		contents[base] = b
		names = append(names, base)
	}
	slices.Sort(names)
	var out []string
	add := func(b []byte) {
		s := string(b)
		for len(s) > 0 {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				out = append(out, s)
				break
			}
			out = append(out, s[:i+1])
			s = s[i+1:]
		}
	}
	for _, n := range names {
		add(contents[n])
	}
	b, err := os.ReadFile(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	add(b)
	return out
}

// TestAppendKilledRotators: appender processes append while two rotator
// processes rotate in a loop and are SIGKILLed at random moments (and
// restarted). Every acknowledged record is present exactly once across the
// live and rotated files, in order per writer, with no partial line.
// (Link rotations only: the README says not to mix --copytruncate with
// append on one file.)
func TestAppendKilledRotators(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) { testKilledRotators(t, m) })
	}
}

func testKilledRotators(t *testing.T, m mode) {
	root := t.TempDir()
	c := open(t, m, root)
	env := []string{"SW_ROOT=" + root, "SW_TTL=1s"}
	if m == rds {
		env = append(env, "SW_REDIS="+needRedis(t).URL())
	}
	ackDir := t.TempDir()
	stop := filepath.Join(t.TempDir(), "stop")
	const procs, goroutines, each = 3, 2, 300

	var wg sync.WaitGroup
	var ids []string
	for p := range procs {
		id := fmt.Sprintf("p%d", p)
		ids = append(ids, id)
		cmd := appendChild(t, "append", append(env, "SW_ID="+id, "SW_G="+strconv.Itoa(goroutines),
			"SW_N="+strconv.Itoa(each), "SW_PACE=4ms", "SW_ACK="+ackDir+"/"+id)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Wait(); err != nil {
				t.Errorf("appender %s: %v", id, err)
			}
		}()
	}
	appendersDone := make(chan struct{})
	go func() { wg.Wait(); close(appendersDone) }()

	var rwg sync.WaitGroup
	var mu sync.Mutex
	kills := 0
	for r := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for round := 0; ; round++ {
				renv := append(env, "SW_PACE=30ms", "SW_GZIP=1", "SW_STOP="+stop)
				cmd := appendChild(t, "rotate-loop", renv...)
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				select {
				case <-appendersDone:
					os.WriteFile(stop, nil, 0o644)
					if err := cmd.Wait(); err != nil {
						t.Errorf("rotator %d: %v", r, err)
					}
					return
				case <-time.After(time.Duration(100+rand.IntN(700)) * time.Millisecond):
				}
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				mu.Lock()
				kills++
				mu.Unlock()
			}
		}()
	}
	rwg.Wait()

	// The next append completes whatever a killed rotator left pending.
	a := c.Appender("app.log")
	if err := a.Append(ctxT(t, time.Minute), []byte("final 0\n")); err != nil {
		t.Fatal(err)
	}
	a.Close()

	lines := rotatedLogLines(t, root)
	seen := checkRecords(t, lines)
	total := 0
	for _, id := range ids {
		for g := range goroutines {
			w := fmt.Sprintf("%s.g%d", id, g)
			if got := len(seen[w]); got != each {
				t.Errorf("writer %s: got %d records; want %d", w, got, each)
			}
		}
		acked := scanLines(t, ackDir+"/"+id)
		total += len(acked)
		for _, l := range acked {
			w, seq, ok := parseRecord(l + "\n")
			if !ok {
				t.Fatalf("bad ack line %q", l)
			}
			if !seen[w][seq] {
				t.Errorf("acknowledged record %s %d missing", w, seq)
			}
		}
	}
	rf, _ := c.RotatedFiles("app.log")
	t.Logf("%d lines, %d rotated files, %d acknowledged, %d rotator kills", len(lines), len(rf), total, kills)
}
