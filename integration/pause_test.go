//go:build unix

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pausedScript is the paused holder's update command: it records the value it
// read, signals that it has read ($2 appears), waits for the test ($3) and
// prints a value no honest increment produces.
const pausedScript = `n=$(cat); n=${n:-0}; echo "$n" > "$1"; : > "$2"; while [ ! -e "$3" ]; do sleep 0.01; done; echo $((n + 1000000))`

// TestPauses stops a holder with SIGSTOP once its command has read the counter,
// keeps it stopped past its lease TTL while other processes queue for the
// counter, then resumes it: it must not commit (exit 4), and the counter must
// hold every acknowledged increment and nothing computed from the paused read.
func TestPauses(t *testing.T) {
	redis := needRedis(t)
	fig := figures(t)
	const ttl = time.Second
	v := newVol(t, t.TempDir(), redis.URL(), "--lease-ttl", ttl.String(), "--timeout", "30s")
	h := &history{base: time.Now()}
	pauses, queued, each := pick(5, 20), 3, 2
	dir := t.TempDir()
	for i := range pauses {
		rec, read, goOn := filepath.Join(dir, fmt.Sprint("rec-", i)), filepath.Join(dir, fmt.Sprint("read-", i)), filepath.Join(dir, fmt.Sprint("go-", i))
		fig.Ops.Add(1)
		holder := v.start(t, nil, "update", "counter", "--", "sh", "-c", pausedScript, "sh", rec, read, goOn)
		waitFor(t, 20*time.Second, "the holder's command reads the counter", func() bool { return exists(read) })
		// Stop the CLI itself (its command is left to finish): its watchdog
		// cannot refresh the lease while it is stopped.
		if err := syscall.Kill(holder.pid(), syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP %d: %v", holder.pid(), err)
		}
		fig.Pauses.Add(1)
		if err := os.WriteFile(goOn, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			increments(t, v, fig, "counter", queued, each, h)
		}()
		time.Sleep(ttl*5/2 + 200*time.Millisecond)
		if err := syscall.Kill(holder.pid(), syscall.SIGCONT); err != nil {
			t.Fatalf("SIGCONT %d: %v", holder.pid(), err)
		}
		code := holder.wait(t, 30*time.Second)
		if code != 0 {
			fig.Refusals.Add(1)
		}
		if code != 4 {
			t.Errorf("pause %d: holder resumed past its TTL: exit %d; want 4 (lease lost, nothing committed); stderr: %s", i, code, holder.errb.String())
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	path := filepath.Join(v.root, "counter")
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "100000") {
		t.Errorf("counter %q carries a value computed from a paused holder's read", b)
	}
	checkCounter(t, fig, path, pauses*queued*each)
	checkLinearizable(t, h)
}
