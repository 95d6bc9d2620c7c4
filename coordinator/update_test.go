package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUpdateNoLostUpdatesGoroutines(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			const workers, each = 6, 20
			if err := incrementConcurrently(ctx, c, "counter", workers, each); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got, want := readFile(t, filepath.Join(root, "counter")), strconv.Itoa(workers*each); got != want {
				t.Fatalf("counter = %s; want %s", got, want)
			}
		})
	}
}

func TestUpdateNoLostUpdatesProcesses(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root) // initialises the volume
			redisURL := ""
			if m == rds {
				redisURL = needRedis(t).URL()
			}
			const procs, each = 4, 15
			var cmds []*os.Process
			var wg sync.WaitGroup
			statuses := make([]int, procs)
			for i := range procs {
				cmd := child(t, "update", "SW_ROOT="+root, "SW_REDIS="+redisURL, "SW_N="+strconv.Itoa(each))
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd.Process)
				wg.Add(1)
				go func() { defer wg.Done(); statuses[i] = exitStatus(cmd.Wait()) }()
			}
			// This process competes too.
			ctx := ctxT(t, 2*time.Minute)
			for range each {
				if err := c.Update(ctx, "counter", increment); err != nil {
					t.Fatalf("Update: %v", err)
				}
			}
			wg.Wait()
			for i, s := range statuses {
				if s != 0 {
					t.Fatalf("child %d exited %d; want 0", i, s)
				}
			}
			if got, want := readFile(t, filepath.Join(root, "counter")), strconv.Itoa((procs+1)*each); got != want {
				t.Fatalf("counter = %s; want %s", got, want)
			}
		})
	}
}

func TestInitOnceRace(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			genlog := filepath.Join(t.TempDir(), "generators")
			redisURL := ""
			if m == rds {
				redisURL = needRedis(t).URL()
			}
			const procs, goroutines = 4, 4
			outs := make([]string, procs+goroutines)
			var wg sync.WaitGroup
			for i := range procs {
				cmd := child(t, "init", "SW_ROOT="+root, "SW_REDIS="+redisURL, "SW_GENLOG="+genlog)
				var out strings.Builder
				cmd.Stdout = &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s := exitStatus(cmd.Wait()); s != 0 {
						t.Errorf("child exited %d", s)
					}
					outs[i] = out.String()
				}()
			}
			var gens atomic.Int32
			ctx := ctxT(t, time.Minute)
			for i := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					data, err := c.InitOnce(ctx, "config.json", func(ctx context.Context) ([]byte, error) {
						gens.Add(1)
						f, err := os.OpenFile(genlog, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
						if err != nil {
							return nil, err
						}
						fmt.Fprintf(f, "g%d\n", i)
						f.Close()
						return []byte(fmt.Sprintf(`{"creator":"g%d"}`, i)), nil
					})
					if err != nil {
						t.Errorf("InitOnce: %v", err)
					}
					outs[procs+i] = string(data)
				}()
			}
			wg.Wait()
			if lines := strings.Count(readFile(t, genlog), "\n"); lines != 1 {
				t.Fatalf("generator ran %d times; want 1", lines)
			}
			want := readFile(t, filepath.Join(root, "config.json"))
			for i, o := range outs {
				if o != want {
					t.Errorf("caller %d got %q; want %q", i, o, want)
				}
			}
		})
	}
}

func TestInitOnceGeneratorFailureCreatesNothing(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	boom := errors.New("boom")
	_, err := c.InitOnce(ctxT(t, 10*time.Second), "cfg", func(context.Context) ([]byte, error) { return nil, boom })
	var cf *CommandFailedError
	if !errors.As(err, &cf) || !errors.Is(err, boom) {
		t.Fatalf("InitOnce error = %v; want a *CommandFailedError wrapping boom", err)
	}
	if got := ExitCode(err); got != ExitCommandFailed {
		t.Fatalf("ExitCode = %d; want %d", got, ExitCommandFailed)
	}
	if _, err := os.Stat(filepath.Join(root, "cfg")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat cfg: %v; want not exist", err)
	}
}

// incrementConcurrently runs workers goroutines that each increment key each
// times with Update, and returns the first error any of them met.
func incrementConcurrently(ctx context.Context, c *Coordinator, key string, workers, each int) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := c.Update(ctx, key, increment); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
