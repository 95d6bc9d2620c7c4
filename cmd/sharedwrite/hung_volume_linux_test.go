//go:build linux

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
)

// stoppedVolume returns a local-mode volume on an sshfs mount whose sshfs is
// then stopped (SIGSTOP): every call into it blocks in the kernel, where
// neither a deadline nor a signal interrupts it, as on an NFS or FUSE server
// that stopped answering. prepare runs on it first, while it answers.
func stoppedVolume(t *testing.T, prepare func(v volume)) volume {
	t.Helper()
	testrig.NeedRoot(t)
	testrig.NeedBinary(t, "sshfs")
	_, ms := sshhost.Mounts(t, 1, sshhost.Coherent)
	m := ms[0]
	v := volume{mode: mode{name: "local"}, root: m.Dir}
	if prepare != nil {
		prepare(v)
	}
	// Its SIGCONT is registered after the mount's clean-up, so run before
	// it: unmounting and ending a stopped sshfs would wait for it.
	stopSSHFS(t, m.PID())
	return v
}

// TestCommandsEndOnAVolumeThatDoesNotAnswer: on a volume that stops
// answering, a command ends at --timeout (exit 3) plus a grace, naming
// itself and the volume, or after a signal (exit 130); it stayed blocked for
// good, deaf to both.
func TestCommandsEndOnAVolumeThatDoesNotAnswer(t *testing.T) {
	v := stoppedVolume(t, func(v volume) {
		if r := v.run(t, "a\n", "write", "f"); r.code != 0 {
			t.Fatalf("write: exit %d: %s", r.code, r.stderr)
		}
	})
	for _, args := range [][]string{{"write", "g"}, {"read", "f"}, {"lock", "f", "--", "true"}, {"init-volume", "--redis", needRedis(t).URL()}} {
		start := time.Now()
		s := v.start(t, append([]string{"--timeout", "2s"}, args...)...)
		code := s.wait(t, 30*time.Second)
		took := time.Since(start)
		if code != 3 || !strings.Contains(s.errb.String(), args[0]+` "`) || !strings.Contains(s.errb.String(), "did not answer") {
			t.Errorf("%v on a stopped volume, --timeout 2s: exit %d, stderr %q; want 3 naming the command and the volume not answering", args, code, s.errb.String())
		}
		if took > 12*time.Second {
			t.Errorf("%v on a stopped volume, --timeout 2s: took %v", args, took.Round(time.Millisecond))
		}
	}
	// Without --timeout, a signal ends them: watch too, which a signal
	// otherwise ends with exit 0.
	for _, args := range [][]string{{"write", "h"}, {"watch", "f"}} {
		s := v.start(t, append([]string{"--timeout", "0"}, args...)...)
		waitBlockedInFUSE(t, s)
		s.cmd.Process.Signal(os.Interrupt)
		sent := time.Now()
		code := s.wait(t, 40*time.Second)
		if took := time.Since(sent); code != 130 || !strings.Contains(s.errb.String(), "did not answer") || took > 10*time.Second {
			t.Errorf("%v on a stopped volume after SIGINT: exit %d after %v, stderr %q; want 130 within the open's grace, naming the volume",
				args, code, took.Round(time.Millisecond), s.errb.String())
		}
	}
}

// TestCommandStuckAfterTheOpenEndsAfterASignal: a volume that stops
// answering once a command has opened it (here its fsync takes 20 s) is left
// after a signal and the command's grace (its CMD's SIGTERM and SIGKILL, the
// release: 16 s with a 1 s lease), with a message saying the outcome is
// unknown, and exit 130; --timeout does not bound the work after the open.
func TestCommandStuckAfterTheOpenEndsAfterASignal(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	if r := v.run(t, "a\n", "write", "f"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Delay: 20 * time.Second})
	before := f.Count(faultfs.OpFsync)
	s := v.start(t, "--lease-ttl", "1s", "--timeout", "0", "write", "g")
	for deadline := time.Now().Add(15 * time.Second); f.Count(faultfs.OpFsync) == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the write never reached an fsync; stderr: %s", s.errb.String())
		}
	}
	waitBlockedInFUSE(t, s)
	s.cmd.Process.Signal(os.Interrupt)
	sent := time.Now()
	// The command gives up at the grace and says so; the process is reaped
	// only once the fsyncs in flight return, which Linux cannot abandon
	// (see waitEnded), and its first thread may be the one waiting in one
	// of them. So the message's time is measured, not the process's end.
	const msg = "did not end within 16s of the signal"
	for !strings.Contains(s.errb.String(), msg) && time.Since(sent) < 30*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(sent)
	code := s.wait(t, 90*time.Second) // each fsync in flight takes 20 s
	if code != 130 || !strings.Contains(s.errb.String(), msg) || took > 19*time.Second {
		t.Errorf("write stuck in fsync, SIGINT: exit %d, stderr %q after %v; want 130, saying the outcome is unknown at the 16s grace",
			code, s.errb.String(), took.Round(time.Millisecond))
	}
}
