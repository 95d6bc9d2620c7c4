//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestDoctorCleanupAfterSignalHungVolume: the volume stops answering when
// doctor's clean-up asks for its first probe directory, and a signal comes
// while the clean-up waits for it. doctor returns within a few graces of the
// signal, not after --timeout (a minute), its report printed; in Redis mode,
// where the report found nothing wrong, with an error naming the clean-up's
// step, the volume not answering; in local mode with its own verdict (exit 5:
// the locks of a FUSE mount stay on it), the clean-up's failure said on
// stderr.
func TestDoctorCleanupAfterSignalHungVolume(t *testing.T) {
	// Two graces (the clean-up's, then the call's) and ample slack: far
	// below --timeout.
	const within = 6 * time.Second
	for _, redisMode := range []bool{false, true} {
		name := "local"
		if redisMode {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := faultfs.Mount(t, faultfs.Options{})
			logger, err := newLogger(io.Discard, "text", "error")
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			g := &globals{root: f.Dir, leaseTTL: defaultLeaseTTL, timeout: time.Minute, logger: logger,
				stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
			if redisMode {
				r := testrig.StartRedis(t)
				g.redisURL = r.URL()
				if _, err := coordinator.InitVolume(context.Background(), f.Dir, r.Client(t)); err != nil {
					t.Fatal(err)
				}
			}

			// The signal, as Main gives it.
			cause := errors.New("interrupted by interrupt")
			ctx, interrupt := context.WithCancelCause(context.Background())
			defer interrupt(nil)
			// Only the clean-up asks for peerDir (doctor without --peer never
			// makes it): its lookup there is the first call that waits, and
			// the signal comes while it does. Match is called with the
			// filesystem's lock held, so from then on every operation waits,
			// until release.
			var (
				signalled time.Time
				once      sync.Once
			)
			gate, hung := make(chan struct{}), make(chan struct{})
			f.Set(faultfs.Fault{Op: faultfs.OpAny, Match: func(rel string) bool {
				if rel == peerDir {
					once.Do(func() {
						signalled = time.Now()
						interrupt(cause)
						close(hung)
						<-gate
					})
				}
				return false
			}})
			release := sync.OnceFunc(func() { close(gate) })
			t.Cleanup(release) // before the unmount

			done := make(chan error, 1)
			go func() { done <- runDoctor(ctx, g, &doctorOpts{json: true}) }()
			select {
			case <-hung:
			case err := <-done:
				t.Fatalf("doctor returned %v without its clean-up asking for %s; want the clean-up waiting for the volume there",
					err, quote.Name(peerDir))
			}
			var derr error
			select {
			case derr = <-done:
			case <-time.After(within):
				release()
				derr = <-done
				t.Fatalf("doctor's clean-up still waiting for the volume %v after the signal (--timeout %v); returned %v once the volume answered",
					within, g.timeout, derr)
			}
			took := time.Since(signalled)
			release()

			var rep doctorReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Root != f.Dir {
				t.Errorf("doctor's report: %v (root %q): %q; want the report on %s, printed before the clean-up", err, rep.Root, stdout.String(), f.Dir)
			}
			if redisMode {
				if !errors.Is(derr, errNoAnswer) || !errors.Is(derr, cause) ||
					!strings.Contains(derr.Error(), "clean up: remove "+quote.Name(peerDir)) {
					t.Errorf("doctor after %v: %v; want an error naming the clean-up's removal of %s, the volume not answering after the signal",
						took.Round(time.Millisecond), derr, quote.Name(peerDir))
				}
			} else if exitCode(derr) != exitBadVolume || !strings.Contains(stderr.String(), "clean up: remove "+quote.Name(peerDir)) ||
				!strings.Contains(stderr.String(), errNoAnswer.Error()) {
				t.Errorf("doctor after %v: %v (exit %d), stderr %q; want its verdict, exit %d, and the clean-up's removal of %s named on stderr as not answered",
					took.Round(time.Millisecond), derr, exitCode(derr), stderr.String(), exitBadVolume, quote.Name(peerDir))
			}
			t.Logf("doctor returned %v after the signal: %v", took.Round(time.Millisecond), derr)
		})
	}
}
