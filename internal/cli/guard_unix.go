//go:build unix

package cli

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// guardArg, as the first argument, makes the binary a guard (runGuard) instead
// of the CLI.
const guardArg = "__sharedwrite-guard"

// startGuard starts a guard for cmd, which has just started in a process
// group of its own (ownGroup), and returns the function that ends it once
// cmd is done. The guard joins cmd's group, so the group's id stays taken
// while it runs, and reads a pipe from this process: when this process ends
// without saying so (SIGKILL, the OOM killer) the pipe closes, and the guard
// sends SIGTERM to the group and, grace later, SIGKILL. Without it, CMD and
// what it started would go on running with no one holding the lease, which
// expires, and on another host (where the lock file descriptor CMD inherited
// does not reach) the next holder would run at the same time.
//
// Where cmd is not in a group of its own (a terminal's foreground group), or
// the guard cannot start, there is no guard: the latter is said on w.
func startGuard(cmd *exec.Cmd, grace time.Duration, w io.Writer) (stop func()) {
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		return func() {}
	}
	fail := func(err error) func() {
		fmt.Fprintf(w, "sharedwrite: warning: no guard for %s (it would go on running if this process were killed): %v\n", quote.Name(cmd.Path), err)
		return func() {}
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	gc := exec.Command(exe, guardArg, strconv.Itoa(cmd.Process.Pid), grace.String())
	gc.Stdin = r
	if f, ok := w.(*os.File); ok {
		gc.Stderr = f
	}
	gc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: cmd.Process.Pid}
	err = gc.Start()
	r.Close()
	if err != nil {
		pw.Close()
		return fail(err)
	}
	return func() {
		_, _ = pw.Write([]byte{'q'})
		pw.Close()
		_ = gc.Wait()
	}
}

// runGuard is the guard's process: args are the group id and the grace.
func runGuard(args []string) int {
	if len(args) != 2 {
		return exitUsage
	}
	pgid, err := strconv.Atoi(args[0])
	grace, gerr := time.ParseDuration(args[1])
	if err != nil || gerr != nil || pgid <= 1 {
		return exitUsage
	}
	// The group's SIGTERM (the CLI stopping CMD, or this guard) must not end
	// the guard before its SIGKILL; the CLI's own SIGKILL of the group does.
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	var b [1]byte
	if n, _ := os.Stdin.Read(b[:]); n == 1 && b[0] == 'q' {
		return 0
	}
	fmt.Fprintf(os.Stderr, "sharedwrite: the sharedwrite process running process group %d ended without stopping it: SIGTERM to the group, SIGKILL %v later\n", pgid, grace)
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	for end := time.Now().Add(grace); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if others, known := othersInGroup(pgid); known && !others {
			return 0
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // this guard too
	return 0
}
