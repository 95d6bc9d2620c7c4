//go:build unix

package cli

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// inheritable returns a duplicate of the lock descriptor fd for a child. It
// shares the open file description, so the child holds the same flock.
func inheritable(fd uintptr, key string) (*os.File, error) {
	if fd == 0 {
		return nil, nil
	}
	// Close-on-exec: CMD gets it as descriptor 3 (ExtraFiles), not a second
	// time at this number, nor does anything else this process runs.
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "lock:"+key), nil
}

// ownGroup starts cmd in a process group of its own, so that terminate and
// kill reach what it starts too (a shell's children, which would otherwise
// go on running on the file after the lease and lock are released). Not when
// the CLI's stdin is a terminal (interactive is true): CMD must stay in the
// terminal's foreground group to read from it, and Ctrl-C reaches that whole
// group anyway.
func ownGroup(cmd *exec.Cmd, interactive bool) {
	if !interactive {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
}

// terminate sends SIGTERM to p and, when p leads its own process group
// (ownGroup), to the whole group.
func terminate(p *os.Process) { signalGroup(p, syscall.SIGTERM) }

// kill is terminate with SIGKILL.
func kill(p *os.Process) { signalGroup(p, syscall.SIGKILL) }

// stopGroup kills what is left of cmd's process group (ownGroup) once cmd
// itself has ended: a process CMD started in the background and that a
// failed or stopped CMD leaves behind (still holding its output open, say).
// The group's id stays taken while any of it runs, so the signal reaches
// only that group; a group with no one left is ESRCH.
func stopGroup(cmd *exec.Cmd) {
	if cmd.Process != nil && cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func signalGroup(p *os.Process, s syscall.Signal) {
	if pg, err := syscall.Getpgid(p.Pid); err == nil && pg == p.Pid {
		_ = syscall.Kill(-p.Pid, s)
		return
	}
	_ = p.Signal(s)
}

func signalOf(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal())
	}
	return 0
}

// withoutUmask runs fn with the process's umask 0, so that what fn creates
// gets the mode it asks for in one step (the umask is the process's: nothing
// else of this process creates files meanwhile).
func withoutUmask(fn func() error) error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	return fn()
}
