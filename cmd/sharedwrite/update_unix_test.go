//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLeaseAwareCommit: a holder that has read the counter is paused
// (SIGSTOP) past its lease while another writer queues; continued, it must
// not commit (exit 4), and the other writer's updates must all be there.
func TestLeaseAwareCommit(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	if r := v.run(t, "5\n", "write", "counter"); r.code != 0 {
		t.Fatalf("seed counter: exit %d: %s", r.code, r.stderr)
	}
	marks := t.TempDir()
	readMark, goOn := filepath.Join(marks, "has-read"), filepath.Join(marks, "go")
	// The holder signals once it has read, then answers only once the test
	// has paused the CLI (goOn appears), so that it cannot commit first
	// however late the pause comes. Its own bound (about 60 s) ends it if
	// the test never gets that far.
	holder := v.start(t, "--lease-ttl", "1s", "update", "counter", "--", "sh", "-c",
		`cat >/dev/null; touch "$0"; i=0; while [ ! -e "$1" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i + 1)); done; echo 1000`,
		readMark, goOn)
	waitForFile(t, readMark, 30*time.Second)
	// Stop the CLI itself (its command is left to finish): its watchdog
	// cannot refresh the lease while it is stopped.
	if err := holder.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			holder.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	if err := os.WriteFile(goOn, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	const others = 3
	other := v.start(t, "--lease-ttl", "5s", "lock", "counter", "--", "sh", "-c",
		`for i in 1 2 3; do "$0" --root "$1" --redis "$2" update counter -- sh -c 'read -r n; echo $((n + 1))' || exit 9; done`,
		swBin, v.root, v.redis)
	time.Sleep(2500 * time.Millisecond) // past the holder's 1 s TTL
	if !other.running() {
		t.Fatalf("the other writer finished while the paused holder still held the file lock: exit %d: %s", other.code, other.errb.String())
	}
	holder.cmd.Process.Signal(syscall.SIGCONT)
	stopped = false

	if code := holder.wait(t, 30*time.Second); code != 4 {
		t.Errorf("paused holder: exit %d; want 4 (lease lost, nothing committed); stderr: %s", code, holder.errb.String())
	}
	if code := other.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("other writer: exit %d; stderr: %s", code, other.errb.String())
	}
	b, err := os.ReadFile(filepath.Join(v.root, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(5+others); got != want {
		t.Errorf("counter: got %s; want %s (the paused holder's 1000 must never land)", got, want)
	}
}
