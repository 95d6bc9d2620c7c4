package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/spf13/cobra"
)

// Environment of the command `lock NAME -- CMD` runs.
const (
	// envLease holds a leaseEnv as JSON. A sharedwrite process started inside
	// CMD (at any depth) that works on the same key of the same volume adopts
	// the lease and the inherited lock descriptor instead of waiting for them.
	envLease = "SHAREDWRITE_LEASE"
	// envFence holds the fencing token in decimal, for CMD's own use (e.g. to
	// pass to a storage system that checks tokens).
	envFence = "SHAREDWRITE_FENCE"
)

// leaseEnv is the content of SHAREDWRITE_LEASE.
type leaseEnv struct {
	// Volume is the volume's id (.sharedwrite/volume-id): the lease is
	// adopted only on that volume, whatever path reaches it. An environment
	// without it (from an older sharedwrite) is adopted by key alone.
	Volume string `json:"volume,omitempty"`
	Key    string `json:"key"`   // canonical path relative to the root
	Lease  string `json:"lease"` // the lease id
	Token  uint64 `json:"token"` // the fencing token
	FD     int    `json:"fd"`    // the inherited lock file descriptor in CMD, -1 when none
	// Turn is the scope in which the processes that adopt the lease take
	// turns on the key (coordinator.LeaseInfo.Turn); "" is the lease id.
	Turn string `json:"turn,omitempty"`
}

// lockTermGrace is how long CMD has to exit after SIGTERM before it is
// killed; after the lease's loss, half the TTL if that is less (runHolding).
const lockTermGrace = 10 * time.Second

type lockOpts struct {
	name string
	argv []string
}

func newLockCmd(g *globals) *cobra.Command {
	o := &lockOpts{}
	return &cobra.Command{
		Use:   "lock NAME -- CMD [ARG...]",
		Short: "Run CMD holding NAME's lease and lock",
		Long: `lock runs CMD while holding NAME's lease and file lock, and exits with CMD's
status, as flock(1) does. CMD sees SHAREDWRITE_LEASE (JSON: key, lease id,
token, the number of the inherited lock descriptor, the volume's id and the
scope of the turns nested commands take) and SHAREDWRITE_FENCE (the
fencing token). A sharedwrite command inside CMD on the same NAME of the same
volume adopts the held lease and lock instead of deadlocking (several at once
take turns on NAME); on another volume it takes that volume's lease and lock
as usual.
If the lease is lost while CMD runs, CMD gets SIGTERM and lock exits 4.`,
		Example: `  sharedwrite lock db/schema -- ./migrate.sh
  sharedwrite lock report.csv -- sh -c 'generate > /tmp/r && sharedwrite write report.csv --from /tmp/r'`,
		Args: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			if len(before) != 1 || len(after) == 0 {
				return usagef("lock takes NAME -- CMD [ARG...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			o.name, o.argv = before[0], after
			return runLock(cmd.Context(), g, o)
		},
	}
}

func runLock(ctx context.Context, g *globals, o *lockOpts) error {
	var status int
	err := g.withVolume(ctx, "lock "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		return v.Lock(ctx, o.name, func(lctx context.Context, l leaseInfo) error {
			acquired()
			var err error
			status, err = g.runHolding(lctx, l, o.argv)
			return err
		})
	})
	if err != nil {
		return err
	}
	if status != 0 {
		return exitStatus{status}
	}
	return nil
}

// runHolding runs argv while the lease l is held and returns its exit status.
// When lctx ends (the lease is lost, or the CLI is interrupted) argv gets
// SIGTERM, then SIGKILL after lockTermGrace (after the lease's loss, half
// the TTL if that is less), and the error is the cause;
// unless the CLI's stdin is a terminal, argv runs in a process group of its
// own and the signals go to that group (ownGroup), what is left of which is
// killed once argv has ended.
func (g *globals) runHolding(lctx context.Context, l leaseInfo, argv []string) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = childIn(g.stdin), childOut(g.stdout), g.stderr
	env := leaseEnv{Volume: l.Volume, Key: l.Key, Lease: l.LeaseID, Token: l.Token, FD: -1, Turn: l.Turn}
	if f, err := inheritable(l.Fd, l.Key); err == nil && f != nil {
		cmd.ExtraFiles = []*os.File{f}
		env.FD = 3 // ExtraFiles[0] is descriptor 3 in the child
		defer f.Close()
	} else if err != nil {
		return 0, fmt.Errorf("lock %s: pass the lock descriptor: %w", quote.Name(l.Key), err)
	}
	js, err := json.Marshal(env)
	if err != nil {
		return 0, err
	}
	cmd.Env = append(os.Environ(), envLease+"="+string(js), envFence+"="+strconv.FormatUint(l.Token, 10))
	ownGroup(cmd, g.interactive())
	// The lease may come only as --timeout passes (a slow read of the lock
	// record, which no deadline interrupts): lctx has then ended, and argv
	// must not start at all, not start and get SIGTERM at once (a command
	// that handles SIGTERM by finishing its work would run).
	if lctx.Err() != nil {
		return 0, fmt.Errorf("lock %s: %s not started: %w", quote.Name(l.Key), quote.Name(argv[0]), context.Cause(lctx))
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("lock %s: start %s: %w", quote.Name(l.Key), quote.Name(argv[0]), err)
	}
	lostGrace := min(lockTermGrace, g.leaseTTL/2)
	defer startGuard(cmd, lostGrace, g.stderr)()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-lctx.Done():
		terminate(cmd.Process)
		// A lost lease may be another holder's already: CMD gets no more
		// time to stop than the guard gives it when this process dies.
		// Interrupted, this process still holds the lease while CMD stops.
		grace, lost := lockTermGrace, l.Lost
		if errors.Is(context.Cause(lctx), locking.ErrLeaseLost) {
			grace, lost = lostGrace, nil
		}
		end := time.Now().Add(grace)
		timer := time.NewTimer(grace)
		defer timer.Stop()
	stopping:
		for {
			select {
			case werr = <-waited:
				break stopping
			case <-lost:
				// Lost while CMD stops after an interrupt: from now, no
				// more time than after a loss.
				lost = nil
				if time.Until(end) > lostGrace {
					end = time.Now().Add(lostGrace)
					timer.Reset(lostGrace)
				}
			case <-timer.C:
				kill(cmd.Process)
				werr = <-waited
				break stopping
			}
		}
		// What CMD started and that outlived the SIGTERM (it ignores it)
		// must not go on once the key is released: the next holder would
		// run beside it. (While the guard still holds the group's id.)
		stopGroup(cmd)
		return exitStatusOf(werr), fmt.Errorf("lock %s: command %s stopped: %w", quote.Name(l.Key), quote.Name(argv[0]), context.Cause(lctx))
	}
	if werr != nil && !errors.As(werr, new(*exec.ExitError)) {
		return 0, fmt.Errorf("lock %s: wait for %s: %w", quote.Name(l.Key), quote.Name(argv[0]), werr)
	}
	return exitStatusOf(werr), nil
}

func exitStatusOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if c := ee.ExitCode(); c >= 0 {
			return c
		}
		return 128 + signalOf(ee)
	}
	if err != nil {
		return exitFailure
	}
	return 0
}

// adoptedLease returns the lease a parent `sharedwrite lock` passed in the
// environment, if any.
func adoptedLease() (leaseEnv, bool, error) {
	s := os.Getenv(envLease)
	if s == "" {
		return leaseEnv{}, false, nil
	}
	var l leaseEnv
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return leaseEnv{}, false, usagef("$%s: %v", envLease, err)
	}
	return l, true, nil
}
