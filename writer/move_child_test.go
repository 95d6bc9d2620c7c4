//go:build linux

package writer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of Move, the in-place rewrite and MkdirAll that need other
// processes re-execute the test binary as a child running TestOpsChild,
// which does one job named by opsChildEnv and reports on stdout.
const opsChildEnv = "SHAREDWRITE_WRITER_OPS_CHILD"

// TestOpsChild is the child process of the multi-process tests; it is
// skipped in a normal run. Jobs (fields separated by '|'):
//
//	mkdir|root|seed|calls  MkdirAll over an overlapping tree from 4 goroutines
//	move|root|src|dst      Move src to dst
//	inplace|root|name|seed|size  WriteFile a crash payload with InPlaceIfBusy
func TestOpsChild(t *testing.T) {
	spec := os.Getenv(opsChildEnv)
	if spec == "" {
		t.Skip("helper process for the multi-process tests")
	}
	f := strings.Split(spec, "|")
	r, err := Open(f[1])
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch f[0] {
	case "mkdir":
		seed, _ := strconv.ParseUint(f[2], 10, 64)
		calls, _ := strconv.Atoi(f[3])
		fmt.Println("ready")
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed []string
		for g := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(g)))
				for range calls {
					p := mkdirTree(rng)
					if err := r.MkdirAll(ctx, p, 0o755); err != nil {
						mu.Lock()
						failed = append(failed, err.Error())
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		if len(failed) > 0 {
			fmt.Println("error", strings.Join(failed, "; "))
			os.Exit(3)
		}
	case "move":
		fmt.Println("ready")
		if err := r.Move(ctx, f[2], f[3]); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
	case "inplace":
		seed, _ := strconv.ParseUint(f[3], 10, 64)
		size, _ := strconv.Atoi(f[4])
		data := crashPayload(seed, size)
		fmt.Println("ready")
		if err := r.WriteFile(ctx, f[2], data, 0o644, InPlaceIfBusy()); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
	default:
		fmt.Println("error unknown job", f[0])
		os.Exit(2)
	}
	fmt.Println("done")
	os.Exit(0)
}

// opsChild is a running TestOpsChild.
type opsChild struct {
	cmd *exec.Cmd
	out *bufio.Reader
}

// startOpsChild starts a child for job (the fields after the job name are
// joined with '|') and waits for its "ready" line.
func startOpsChild(t *testing.T, job ...string) *opsChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpsChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), opsChildEnv+"="+strings.Join(job, "|"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &opsChild{cmd: cmd, out: bufio.NewReader(stdout)}
	line, err := c.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		c.kill()
		t.Fatalf("child %v: got %q, %v; want \"ready\"", job, line, err)
	}
	return c
}

// wait waits for the child to exit and returns what it printed after
// "ready" and its exit error.
func (c *opsChild) wait() (string, error) {
	rest, _ := io.ReadAll(c.out)
	return string(rest), c.cmd.Wait()
}

// kill SIGKILLs the child and reaps it; it returns what the child printed.
func (c *opsChild) kill() string {
	_ = c.cmd.Process.Kill()
	out, _ := c.wait()
	return out
}
