package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// cleanUpDoctor leaves the volume at abs (opened as root) as doctor found
// it: it removes the probe directories, and .sharedwrite itself when doctor
// made it (the coordinator creates it with the group-sharing mode doctor
// does not set). Remove fails on a directory still in use, by another
// doctor --peer for instance, which is as meant. Removing .sharedwrite is
// tried whether or not this doctor made it: a doctor --peer that started
// after the other made it may be the last to leave. Remove fails on a
// directory that is not empty, and a volume's own .sharedwrite never is
// (config, volume-id, locks/). Only directories are removed: a file or a
// symlink at one of these names is not doctor's.
//
// It is bounded by --timeout as the probes are or, with --timeout 0, by its
// own bound (cleanupBound, from probeTime, how long the probes took), and
// runs after a signal too, then bounded by a grace (cleanupContext). On a
// volume that did not answer (v stuck) it asks nothing more of it. Its
// error, when it could not finish, names the step and what it left behind.
func cleanUpDoctor(ctx context.Context, g *globals, v *volumeCalls, root *os.Root, abs string, peer bool, probeTime time.Duration) error {
	dirs := []string{peerDir, doctorDir, metaDir}
	if v.stuck() != nil {
		return fmt.Errorf("doctor %s: clean up not attempted (%w); left behind: %s", quote.Name(abs), errNoAnswer, leftBehind(dirs, peer))
	}
	cctx, cancel := g.cleanupContext(ctx)
	defer cancel()
	if g.timeout <= 0 {
		d := cleanupBound(probeTime)
		var cancelBound context.CancelFunc
		cctx, cancelBound = context.WithTimeoutCause(cctx, d,
			fmt.Errorf("the clean-up's bound of %v passed (--timeout 0 lifts only the probes' bound): %w", d, context.DeadlineExceeded))
		defer cancelBound()
	}
	var at atomic.Int32 // the index in dirs of the one being removed
	err := answered(cctx, v, abs, func(step func(string)) error {
		for i, d := range dirs {
			at.Store(int32(i))
			step("clean up: remove " + quote.Name(d))
			if fi, err := root.Lstat(d); err == nil && fi.IsDir() {
				root.Remove(d)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w; left behind: %s", err, leftBehind(dirs[at.Load():], peer))
	}
	return nil
}

// cleanupFloor is the least time doctor's clean-up gets with --timeout 0.
const cleanupFloor = 5 * time.Second

// cleanupBound is the bound of doctor's clean-up with --timeout 0, given how
// long the probes took. --timeout 0 lifts the probes' bound, which a slow
// volume may need; the clean-up, a few removals of empty directories (far
// less than the probes did), is still bounded: on a volume that stops
// answering once the probes are done (a FUSE or sshfs server that hangs), an
// unbounded clean-up would keep doctor, its report printed, from ever
// exiting without a signal. It gets twice the probes' time, and
// cleanupFloor at least.
func cleanupBound(probes time.Duration) time.Duration { return max(cleanupFloor, 2*probes) }

// leftBehind names what doctor's clean-up leaves when it cannot remove dirs
// (peerDir, doctorDir, metaDir, or the last of them): peerDir when doctor
// ran the peer test (peer), doctorDir, and metaDir when doctor made it (it
// removes it only then: empty).
func leftBehind(dirs []string, peer bool) string {
	var names []string
	meta := false
	for _, d := range dirs {
		switch {
		case d == metaDir:
			meta = true
		case d != peerDir || peer:
			names = append(names, quote.Name(d))
		}
	}
	s := strings.Join(names, " and ")
	switch {
	case meta && s == "":
		s = quote.Name(metaDir) + " if doctor made it"
	case meta:
		s += ", and " + quote.Name(metaDir) + " if doctor made it"
	}
	return s
}
