//go:build unix

package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// guardScript is the guard (see startGuard), run by /bin/sh with the group id
// as $1 and the grace in whole seconds as $2. It ignores the group's SIGTERM
// (inherited by its sleep), so that the SIGKILL follows; the CLI's own
// SIGKILL of the group ends it with the rest. It signals before it says so,
// and ignores SIGPIPE: a stderr whose reader died with the CLI (a pipe to
// tee) must not end it first.
const guardScript = `trap '' TERM INT HUP PIPE
IFS= read -r line
[ "$line" = q ] && exit 0
kill -s TERM -- "-$1"
echo "sharedwrite: the sharedwrite process running process group $1 ended without stopping it: SIGTERM sent to the group, SIGKILL $2 s later" >&2 || :
sleep "$2"
kill -s KILL -- "-$1"
`

// startGuard starts a guard for cmd, which has just started in a process
// group of its own (ownGroup), and returns the function that ends it once
// cmd is done. The guard, a shell, joins cmd's group, so the group's id stays
// taken while it runs, and reads a pipe from this process: when this process
// ends without saying so (SIGKILL, the OOM killer) the pipe closes, and the
// guard sends SIGTERM to the group and, grace later, SIGKILL. Without it, CMD
// and what it started would go on running with no one holding the lease,
// which expires, and on another host (where the lock file descriptor CMD
// inherited does not reach) the next holder would run at the same time.
//
// Where cmd is not in a group of its own (a terminal's foreground group), or
// the guard cannot start, there is no guard: the latter is said on w.
func startGuard(cmd *exec.Cmd, grace time.Duration, w io.Writer) (stop func()) {
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		return func() {}
	}
	none := func(err error) func() {
		fmt.Fprintf(w, "sharedwrite: warning: no guard for %s (it would go on running if this process were killed): %v\n", quote.Name(cmd.Path), err)
		return func() {}
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return none(err)
	}
	secs := max(1, int(math.Ceil(grace.Seconds())))
	gc := exec.Command("/bin/sh", "-c", guardScript, "sharedwrite-guard", strconv.Itoa(cmd.Process.Pid), strconv.Itoa(secs))
	gc.Stdin = r
	if f, ok := w.(*os.File); ok {
		gc.Stderr = f
	}
	gc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: cmd.Process.Pid}
	err = gc.Start()
	r.Close()
	if err != nil {
		pw.Close()
		return none(err)
	}
	return func() {
		// Told, it exits by itself: not waited for here (it may not have
		// started reading yet), reaped in the background.
		_, _ = pw.Write([]byte("q\n"))
		pw.Close()
		go gc.Wait() //nolint:errcheck // its status says nothing
	}
}
