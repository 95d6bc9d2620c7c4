//go:build unix

package coordinator

import (
	"bufio"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A holder SIGSTOPped after its read, past its lease, while another writer
// queues, never commits when continued: it exits 4 and the other's write stands.
func TestPausedHolderNeverCommits(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	c := open(t, rds, root)
	ctx := ctxT(t, time.Minute)
	if err := c.WriteFile(ctx, "state", []byte("start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const ttl = time.Second
	cmd := child(t, "paused-update", "SW_ROOT="+root, "SW_REDIS="+r.URL(), "SW_TTL="+ttl.String())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "READ\n" {
		t.Fatalf("child said %q, %v; want READ", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * ttl)
	done := make(chan error, 1)
	go func() {
		done <- c.Update(ctx, "state", func(old []byte, _ bool) ([]byte, error) { return append(old, "other\n"...), nil })
	}()
	time.Sleep(200 * time.Millisecond) // the other writer takes the expired lease and queues on the file lock
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	if got := exitStatus(cmd.Wait()); got != ExitLeaseLost {
		t.Fatalf("paused holder exited %d; want %d (lease lost, nothing committed)", got, ExitLeaseLost)
	}
	if err := <-done; err != nil {
		t.Fatalf("other writer: %v", err)
	}
	if got, want := readFile(t, filepath.Join(root, "state")), "start\nother\n"; got != want {
		t.Fatalf("state = %q; want %q", got, want)
	}
}
