//go:build unix

package main

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// waitRunningBench waits until s, a bench on root, has made its directory
// (one not in others) and written its coordinated file, and returns the
// directory's name.
func waitRunningBench(t *testing.T, s *started, root string, others ...string) string {
	t.Helper()
	var dir string
	waitFor(t, s, func() bool {
		for _, d := range benchDirs(t, root) {
			if slices.Contains(others, filepath.Base(d)) {
				continue
			}
			if _, err := os.Stat(filepath.Join(d, "coordinated")); err == nil {
				dir = filepath.Base(d)
				return true
			}
		}
		return false
	}, "a running bench's directory")
	return dir
}

// TestBenchRemovesTheLeftoversOfAKilledRun: a bench killed with SIGKILL
// cannot clean up, and its directory, the lock files of its names and their
// Redis keys stayed on the root for good. The next bench on the root removes
// them and says so on stderr, while the directory of a bench running at the
// same time (started before both) is left alone: that bench goes on, and
// cleans up after itself at SIGTERM.
func TestBenchRemovesTheLeftoversOfAKilledRun(t *testing.T) {
	type tcase struct {
		name   string
		m      mode
		volume bool // the root holds a volume: the lock files are in its .sharedwrite
	}
	cases := []tcase{{"local, no volume", mode{name: "local"}, false}, {"local", mode{name: "local"}, true}}
	for _, m := range modes(t) {
		if m.redis != "" {
			cases = append(cases, tcase{"redis", m, true})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newVolume(t, c.m)
			if c.volume && c.m.redis == "" {
				if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
					t.Fatalf("write: exit %d: %s", r.code, r.stderr)
				}
			}
			before := treeOf(t, v.root)
			var volID string
			var keysBefore []string
			if c.m.redis != "" {
				volID = volumeIDOf(t, v.root)
				keysBefore = redisKeysOf(t, volID)
			}

			live := v.start(t, "bench", "--ops", "1000000")
			liveDir := waitRunningBench(t, live, v.root)
			killed := v.start(t, "bench", "--ops", "1000000")
			killedDir := waitRunningBench(t, killed, v.root, liveDir)
			if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed.wait(t, 10*time.Second)
			if ws, _ := killed.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the second bench was not killed by SIGKILL: %v; stderr %s", killed.cmd.ProcessState, killed.errb.String())
			}

			// What the killed run left, each checked to be there first.
			lockFile := filepath.Join(v.root, filepath.FromSlash(locking.LockPath(path.Join(killedDir, "coordinated"))))
			var keys []string
			if c.m.redis != "" {
				keys = locking.RedisKeys(volID, path.Join(killedDir, "coordinated")).Stored()
			}
			existing := func() int64 {
				if len(keys) == 0 {
					return 0
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				n, err := redisSrv.Client(t).Exists(ctx, keys...).Result()
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if _, err := os.Stat(filepath.Join(v.root, killedDir)); err != nil {
				t.Fatalf("the killed bench left no directory: %v", err)
			}
			if _, err := os.Stat(lockFile); c.volume && err != nil {
				t.Fatalf("the killed bench left no lock file for its coordinated name: %v", err)
			}
			if c.m.redis != "" && existing() == 0 {
				t.Fatalf("the killed bench left none of the Redis keys of its coordinated name %q", keys)
			}

			r := v.run(t, "", "bench", "--ops", "2")
			if r.code != 0 {
				t.Errorf("the next bench: exit %d: %s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(v.root, killedDir)); err == nil {
				t.Errorf("the killed bench's directory %s is still there after the next bench; its stderr: %q", killedDir, r.stderr)
			}
			if _, err := os.Stat(lockFile); err == nil {
				t.Errorf("the killed bench's lock file %s is still there after the next bench", lockFile)
			}
			if n := existing(); n > 0 {
				t.Errorf("%d of the killed bench's Redis keys %q are still there after the next bench", n, keys)
			}
			if !strings.Contains(r.stderr, "removed \""+killedDir+"\"") {
				t.Errorf("the next bench's stderr %q does not say it removed %s", r.stderr, killedDir)
			}
			if strings.Contains(r.stderr, liveDir) {
				t.Errorf("the next bench's stderr %q names the live bench's directory %s", r.stderr, liveDir)
			}

			// The live bench was left alone: its directory is there, it
			// runs on, and it ends at SIGTERM as it always does.
			if _, err := os.Stat(filepath.Join(v.root, liveDir, "coordinated")); err != nil {
				t.Errorf("the live bench's directory: %v", err)
			}
			if !live.running() {
				t.Fatalf("the live bench ended (exit %d) while the others ran: %s", live.code, live.errb.String())
			}
			live.cmd.Process.Signal(syscall.SIGTERM)
			code := live.wait(t, 20*time.Second)
			if stderr := live.errb.String(); code != 128+int(syscall.SIGTERM) || !strings.Contains(stderr, "interrupted by terminated") ||
				strings.Contains(stderr, "remove") || strings.Contains(stderr, "left") || strings.Contains(stderr, "no such file") {
				t.Errorf("the live bench at SIGTERM: exit %d, stderr %q; want %d, interrupted, with its clean-up done", code, stderr, 128+int(syscall.SIGTERM))
			}
			noNewEntries(t, v.root, before)
			if c.m.redis != "" {
				if d := newEntries(keysBefore, redisKeysOf(t, volID)); len(d) > 0 {
					t.Errorf("%d new Redis keys left: %q", len(d), d)
				}
			}
		})
	}
}
