package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// incr is an update command: the current number on stdin (none: 0), plus one.
var incr = []string{"--", "sh", "-c", `read -r n || true; echo $(( ${n:-0} + 1 ))`}

// TestLostUpdates: 6 processes each run 30 increments of one counter, as
// separate CLI processes; every increment must survive.
func TestLostUpdates(t *testing.T) {
	const procs, each = 6, 30
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			var wg sync.WaitGroup
			errs := make(chan string, procs*each)
			for range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						r := v.run(t, "", append([]string{"update", "counter"}, incr...)...)
						if r.code != 0 {
							errs <- "exit " + strconv.Itoa(r.code) + ": " + r.stderr
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Errorf("update: %s", e)
			}
			b, err := os.ReadFile(filepath.Join(v.root, "counter"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(b)), strconv.Itoa(procs*each); got != want {
				t.Errorf("counter: got %s; want %s", got, want)
			}
			if l := leftovers(t, v.root); len(l) > 0 {
				t.Errorf("temps left behind: %q", l)
			}
		})
	}
}

// TestInitOnce: 8 processes race to create one file; the generator runs once
// and every process prints the same content.
func TestInitOnce(t *testing.T) {
	const procs = 8
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			marker := filepath.Join(t.TempDir(), "generator-runs")
			gen := `echo run >> "$0"; sleep 0.2; echo "config from generator $$"`
			outs := make([]result, procs)
			var wg sync.WaitGroup
			for i := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i] = v.run(t, "", "init", "config", "--", "sh", "-c", gen, marker)
				}()
			}
			wg.Wait()
			for i, r := range outs {
				if r.code != 0 {
					t.Fatalf("process %d: exit %d: %s", i, r.code, r.stderr)
				}
				if r.stdout != outs[0].stdout || !strings.HasPrefix(r.stdout, "config from generator ") {
					t.Errorf("process %d printed %q; want the same content as process 0 (%q)", i, r.stdout, outs[0].stdout)
				}
			}
			runs, err := os.ReadFile(marker)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(runs), "run\n"); got != 1 {
				t.Errorf("generator ran %d times; want 1", got)
			}
			onDisk, err := os.ReadFile(filepath.Join(v.root, "config"))
			if err != nil {
				t.Fatal(err)
			}
			if string(onDisk) != outs[0].stdout {
				t.Errorf("file holds %q; printed %q", onDisk, outs[0].stdout)
			}
		})
	}
}
