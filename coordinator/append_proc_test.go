//go:build linux

package coordinator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// appendChildEnv selects an append or rotate child role in a re-executed test
// binary. It is read in init, before TestMain, so these roles need nothing
// from the package's other child roles.
const appendChildEnv = "SHAREDWRITE_APPEND_CHILD"

func init() {
	if role := os.Getenv(appendChildEnv); role != "" {
		os.Exit(runAppendChild(role))
	}
}

// runAppendChild runs a child role. Settings: SW_ROOT, SW_REDIS, SW_ID (the
// writer prefix), SW_N (records per goroutine), SW_G (goroutines), SW_PACE
// (pause between one goroutine's records), SW_TTL (lease TTL), SW_ACK (acknowledged records are
// written there, one write(2) each, right after Append returns: the kernel
// keeps them across a SIGKILL), SW_ROTATIONS and SW_EVERY (rotate role),
// SW_GZIP and SW_STOP (rotate-loop role).
func runAppendChild(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var opts []Option
	if u := os.Getenv("SW_REDIS"); u != "" {
		opts = append(opts, WithRedisURL(u))
	}
	if d, err := time.ParseDuration(os.Getenv("SW_TTL")); err == nil {
		opts = append(opts, WithLeaseTTL(d))
	}
	c, err := Open(ctx, os.Getenv("SW_ROOT"), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return ExitCode(err)
	}
	defer c.Close()
	atoi := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	pace, _ := time.ParseDuration(os.Getenv("SW_PACE"))
	switch role {
	case "append":
		ack, err := os.OpenFile(os.Getenv("SW_ACK"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		a := c.Appender("app.log")
		var wg sync.WaitGroup
		var mu sync.Mutex
		failed := false
		for g := range atoi("SW_G") {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := fmt.Sprintf("%s.g%d", os.Getenv("SW_ID"), g)
				for i := range atoi("SW_N") {
					rec := fmt.Sprintf("%s %d\n", w, i)
					if err := a.Append(ctx, []byte(rec)); err != nil {
						fmt.Fprintln(os.Stderr, "append:", err)
						mu.Lock()
						failed = true
						mu.Unlock()
						return
					}
					mu.Lock()
					ack.WriteString(rec)
					mu.Unlock()
					time.Sleep(pace)
				}
			}()
		}
		wg.Wait()
		a.Close()
		if failed {
			return 1
		}
		return 0
	case "rotate":
		live := filepath.Join(os.Getenv("SW_ROOT"), "app.log")
		for range atoi("SW_ROTATIONS") {
			time.Sleep(pace)
			// Rotate once there is something to rotate: on a loaded machine
			// the appender processes may start late, and a killed one's
			// lease holds the others up for its TTL.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if fi, err := os.Stat(live); err == nil && fi.Size() > 0 {
					break
				}
				if time.Now().After(deadline) {
					fmt.Fprintln(os.Stderr, "rotate: app.log still empty after 30s")
					return 1
				}
			}
			r, err := c.Rotate(ctx, "app.log", Gzip())
			if err != nil {
				fmt.Fprintln(os.Stderr, "rotate:", err)
				return ExitCode(err)
			}
			fmt.Println(r.Name)
		}
		return 0
	case "rotate-loop":
		// Rotates app.log over and over (SW_PACE apart, with Gzip when
		// SW_GZIP=1) until killed or the file SW_STOP exists.
		var lo []LogOption
		if os.Getenv("SW_GZIP") == "1" {
			lo = append(lo, Gzip())
		}
		for {
			if _, err := os.Stat(os.Getenv("SW_STOP")); err == nil {
				return 0
			}
			if _, err := c.Rotate(ctx, "app.log", lo...); err != nil {
				fmt.Fprintln(os.Stderr, "rotate:", err)
				return ExitCode(err)
			}
			time.Sleep(pace)
		}
	}
	fmt.Fprintln(os.Stderr, "unknown append child role", role)
	return 1
}

func appendChild(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), appendChildEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// TestAppendRotateProcesses: 4 appender processes × 2,000 records at a paced
// rate while a fifth process rotates 5 times (gzip): every record exactly
// once across the live and rotated files, each writer's order kept, no
// partial line, records in ≥ 3 files. With kill, appenders are SIGKILLed at
// random moments (and replaced): every acknowledged record is present exactly
// once, and no partial line is visible after the next append.
func TestAppendRotateProcesses(t *testing.T) {
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "sigkill"}[kill], func(t *testing.T) {
			testAppendRotateProcesses(t, kill)
		})
	}
}

func testAppendRotateProcesses(t *testing.T, kill bool) {
	root := t.TempDir()
	c := open(t, rds, root)
	redisURL := needRedis(t).URL()
	ackDir := t.TempDir()
	const procs, goroutines, each = 4, 4, 500 // 2,000 records per process
	env := func(extra ...string) []string {
		// A short TTL: a killed holder's lease expires soon.
		return append([]string{"SW_ROOT=" + root, "SW_REDIS=" + redisURL, "SW_TTL=2s"}, extra...)
	}

	rot := appendChild(t, "rotate", env("SW_ROTATIONS=5", "SW_PACE=500ms")...)
	var rotOut strings.Builder
	rot.Stdout = &rotOut
	if err := rot.Start(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var writers []string // SW_ID of every appender process started
	kills := 0
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; ; round++ {
				id := fmt.Sprintf("p%dr%d", p, round)
				mu.Lock()
				writers = append(writers, id)
				mu.Unlock()
				cmd := appendChild(t, "append", env("SW_ID="+id, "SW_G="+strconv.Itoa(goroutines),
					"SW_N="+strconv.Itoa(each), "SW_PACE=8ms", "SW_ACK="+ackDir+"/"+id)...)
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				if kill && round < 2 {
					time.Sleep(time.Duration(300+rand.IntN(2500)) * time.Millisecond)
					cmd.Process.Signal(syscall.SIGKILL)
					cmd.Wait()
					mu.Lock()
					kills++
					mu.Unlock()
					continue
				}
				if err := cmd.Wait(); err != nil {
					t.Errorf("appender %s: %v", id, err)
				}
				return
			}
		}()
	}
	wg.Wait()
	if err := rot.Wait(); err != nil {
		t.Errorf("rotator: %v", err)
	}
	rotated := strings.Split(strings.TrimSuffix(rotOut.String(), "\n"), "\n")
	t.Logf("rotated: %q; kills: %d", rotated, kills)
	if n := len(slices.DeleteFunc(rotated, func(s string) bool { return s == "" })); n != 5 {
		t.Errorf("%d of 5 rotations found a non-empty live file; want all 5 during the appends", n)
	}
	if kill {
		// The next append after the kills truncates what they left unacknowledged.
		a := c.Appender("app.log")
		if err := a.Append(ctxT(t, time.Minute), []byte("final 0\n")); err != nil {
			t.Fatal(err)
		}
		a.Close()
	}

	lines, files := logLines(t, c, "app.log")
	seen := checkRecords(t, lines)
	if files < 3 {
		t.Errorf("records in %d files; want ≥ 3", files)
	}
	total := 0
	for _, id := range writers {
		acked := scanLines(t, ackDir+"/"+id)
		for _, l := range acked {
			w, seq, ok := parseRecord(l + "\n")
			if !ok {
				t.Fatalf("bad ack line %q", l)
			}
			if !seen[w][seq] {
				t.Errorf("acknowledged record %s %d missing", w, seq)
			}
		}
		total += len(acked)
		if !kill {
			for g := range goroutines {
				w := fmt.Sprintf("%s.g%d", id, g)
				if got := len(seen[w]); got != each {
					t.Errorf("writer %s: got %d records; want %d", w, got, each)
				}
			}
		}
	}
	t.Logf("%d lines in %d files, %d acknowledged", len(lines), files, total)
}
