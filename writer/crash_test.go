//go:build linux

package writer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a child (TestCrashChild,
// selected by crashEnv) that streams a multi-MB payload through Create and
// Commit, and SIGKILLs it at moments spread over the whole write.
const crashEnv = "SHAREDWRITE_WRITER_CRASH_CHILD"

// sweepGrace is the Sweep grace period in the crash test: far longer than the
// moment between a temp's creation and its flock, even for a child that a
// loaded machine leaves unscheduled in between.
const sweepGrace = time.Second

// crashPayload returns size bytes: an 8-byte seed, a body generated from it,
// and a trailing sha256 of everything before it, so any file can be checked
// for being one complete payload and says which.
func crashPayload(seed uint64, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, seed)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	rng.Read(b[8 : size-32])
	sum := sha256.Sum256(b[:size-32])
	copy(b[size-32:], sum[:])
	return b
}

// payloadSeed returns the seed of a complete payload; ok is false for
// anything else (torn, truncated, empty, mixed).
func payloadSeed(b []byte) (seed uint64, ok bool) {
	if len(b) < 40 {
		return 0, false
	}
	sum := sha256.Sum256(b[:len(b)-32])
	if string(sum[:]) != string(b[len(b)-32:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

// TestCrashChild is the child process of TestCrashSafety; it is skipped in a
// normal run.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("helper process for TestCrashSafety")
	}
	// spec: dir|name|seed|size|mode
	f := strings.Split(spec, "|")
	seed, _ := strconv.ParseUint(f[2], 10, 64)
	size, _ := strconv.Atoi(f[3])
	data := crashPayload(seed, size)
	r, err := Open(f[0])
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	start := time.Now()
	w, err := r.Create(context.Background(), f[1], 0o644)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for off := 0; off < len(data); off += 64 << 10 {
		if _, err := w.Write(data[off:min(off+64<<10, len(data))]); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
	}
	if f[4] == "hold" {
		// Hold the temp (and its flock) until the parent closes stdin.
		fmt.Println("holding", w.TempName())
		io.Copy(io.Discard, os.Stdin)
	}
	if err := w.Commit(context.Background()); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("done", time.Since(start).Nanoseconds())
	os.Exit(0)
}

// crashChild starts the child for target name in dir and waits for its
// "ready" line (or, in hold mode, "holding <temp>").
type crashChild struct {
	cmd   *exec.Cmd
	out   *bufio.Reader
	stdin io.WriteCloser
}

func startCrashChild(t *testing.T, dir, name string, seed uint64, size int, mode string) (*crashChild, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d|%s", crashEnv, dir, name, seed, size, mode))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashChild{cmd: cmd, out: bufio.NewReader(stdout), stdin: stdin}
	want := "ready"
	if mode == "hold" {
		want = "holding"
	}
	line, err := c.out.ReadString('\n')
	if err == nil && mode == "hold" && line == "ready\n" {
		line, err = c.out.ReadString('\n')
	}
	if err != nil || !strings.HasPrefix(line, want) {
		c.kill()
		t.Fatalf("child: got %q, %v; want %q", line, err, want)
	}
	return c, strings.TrimSpace(strings.TrimPrefix(line, want))
}

// timedCrashWrite runs a child that writes the payload of seed to name and
// is not killed; it returns how long the child's Create+Write+Commit took.
func timedCrashWrite(t *testing.T, dir, name string, seed uint64, size int) (time.Duration, error) {
	t.Helper()
	c, _ := startCrashChild(t, dir, name, seed, size, "commit")
	line, err := c.out.ReadString('\n')
	c.kill()
	ns, perr := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "done")), 10, 64)
	if err != nil || perr != nil {
		return 0, fmt.Errorf("timed write of %s by a child: %q, %v", name, line, err)
	}
	return time.Duration(ns), nil
}

// kill SIGKILLs the child, drains its output and reaps it; it returns the
// output the child printed after "ready".
func (c *crashChild) kill() string {
	_ = c.cmd.Process.Kill()
	rest, _ := io.ReadAll(c.out)
	_ = c.cmd.Wait()
	return string(rest)
}

// stillLocked reports whether the temp rel stays flocked across several probes.
// The other worker's Sweep takes a momentary LOCK_EX|LOCK_NB on every unlocked
// temp, so one probe can see a dead writer's temp locked; a temp that a writer
// really still holds stays locked through all of them.
func stillLocked(r *Root, rel string) bool {
	for range 20 {
		if locked, err := r.tempLocked(rel); err != nil || !locked {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func TestCrashSafety(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 40
	}
	const size = 4 << 20
	r, dir := openRoot(t)
	ctx := context.Background()

	// Calibrate: how long does one Create+Write+Commit of the payload take?
	// Kill moments are uniform over 1.25x the median of the last 3 writes
	// timed. A loaded machine can make the writes slower during the kills
	// than before them, which would leave every kill before the commit: every
	// 10th round of each worker below lets its write finish and times it, so
	// the window keeps pace.
	var (
		paceMu sync.Mutex
		paces  []time.Duration
		window time.Duration
	)
	timed := func(d time.Duration) {
		paceMu.Lock()
		defer paceMu.Unlock()
		paces = append(paces, d)
		last := slices.Clone(paces[max(0, len(paces)-3):])
		slices.Sort(last)
		window = last[len(last)/2] + last[len(last)/2]/4
	}
	killWindow := func() time.Duration {
		paceMu.Lock()
		defer paceMu.Unlock()
		return window
	}
	for i := range 3 {
		d, err := timedCrashWrite(t, dir, "calibrate", uint64(1000+i), size)
		if err != nil {
			t.Fatal(err)
		}
		timed(d)
	}
	t.Logf("one %d MiB write takes %v (median of 3); kill window %v; %d kills", size>>20, killWindow()*4/5, killWindow(), kills)

	// A live writer's temp is flocked and survives Sweep.
	holder, holdTemp := startCrashChild(t, dir, "held", 7, size, "hold")
	defer holder.kill()

	const workers = 2
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d/data", w)
			prev := uint64(1_000_000 * (w + 1))
			if err := r.WriteFile(ctx, name, crashPayload(prev, size/2), 0o644); err != nil {
				t.Error(err)
				return
			}
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for k := range kills / workers {
				if k%10 == 9 {
					d, err := timedCrashWrite(t, dir, name, prev+1, size)
					if err != nil {
						t.Error(err)
						return
					}
					timed(d)
					prev++
				}
				seed := prev + 1
				c, _ := startCrashChild(t, dir, name, seed, size, "commit")
				time.Sleep(time.Duration(rng.Int64N(int64(killWindow()))))
				rest := c.kill()
				if strings.Contains(rest, "error") {
					t.Errorf("kill %d: child reported %q", k, rest)
				}
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("kill %d: target unreadable: %v", k, err)
					return
				}
				got, ok := payloadSeed(b)
				switch {
				case !ok:
					t.Errorf("kill %d: target is not one complete payload (%d bytes)", k, len(b))
					return
				case got == prev:
					mu.Lock()
					outcomes["old"]++
					mu.Unlock()
				case got == seed:
					prev = seed
					mu.Lock()
					outcomes["new"]++
					mu.Unlock()
				default:
					t.Errorf("kill %d: target holds payload %d; want old %d or new %d", k, got, prev, seed)
					return
				}
				// Every temp left in the directory belongs to a dead writer:
				// unlocked. Sweep removes those past the grace period while
				// the other worker's child is writing and the holder holds.
				for _, p := range temps(t, filepath.Join(dir, path.Dir(name))) {
					rel, _ := filepath.Rel(dir, p)
					if stillLocked(r, filepath.ToSlash(rel)) {
						t.Errorf("kill %d: temp %s of a dead writer is still locked", k, rel)
					}
					if tn, _ := parseTempName(filepath.Base(p)); tn.PID == c.cmd.Process.Pid {
						mu.Lock()
						outcomes["orphan temps"]++
						mu.Unlock()
					}
				}
				if _, err := r.Sweep(ctx, sweepGrace); err != nil {
					t.Errorf("kill %d: Sweep: %v", k, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("outcomes after %d kills: %v; last kill window %v", kills, outcomes, killWindow())
	if outcomes["old"] == 0 || outcomes["new"] == 0 {
		t.Errorf("kills did not spread over the write: outcomes %v; want both old and new", outcomes)
	}

	// Sweep removes every orphan and never the live writer's temp, which is
	// older than the grace period by now but flocked.
	if locked, err := r.tempLocked(holdTemp); err != nil || !locked {
		t.Errorf("live writer's temp %s: locked %v, %v; want locked", holdTemp, locked, err)
	}
	time.Sleep(sweepGrace + sweepGrace/2)
	rep, err := r.Sweep(ctx, sweepGrace)
	if err != nil {
		t.Errorf("Sweep: %v", err)
	}
	left := temps(t, dir)
	if len(left) != 1 || left[0] != filepath.Join(dir, holdTemp) {
		t.Errorf("temps after Sweep: %v; want only the live writer's %s (report %+v)", left, holdTemp, rep)
	}
	if rep.Live != 1 {
		t.Errorf("Sweep report: Live %d; want 1", rep.Live)
	}
	// The holder, whose temp survived every Sweep, commits.
	holder.stdin.Close()
	line, err := holder.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "done") {
		t.Errorf("live writer after the sweeps: %q, %v; want done", line, err)
	}
	holder.kill()
	if b, _ := os.ReadFile(filepath.Join(dir, "held")); len(b) != size {
		t.Errorf("live writer's target: %d bytes; want %d", len(b), size)
	} else if seed, ok := payloadSeed(b); !ok || seed != 7 {
		t.Errorf("live writer's target: payload %d, %v; want 7", seed, ok)
	}
	noTemps(t, dir)
}
