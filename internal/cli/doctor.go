package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/writer"
)

type doctorOpts struct {
	peer     bool
	peerWait time.Duration
	json     bool
}

func newDoctorCmd(g *globals) *cobra.Command {
	o := &doctorOpts{}
	cmd := &cobra.Command{
		Use:   "doctor [--peer]",
		Short: "Probe the volume and print which guarantees hold on it",
		Long: `doctor probes the root and prints a guarantee table: the filesystem type and
mount options, whether a temp file renames onto the target on the same device,
whether create-only commits work (link(2), RENAME_NOREPLACE), whether the
directory fsync is accepted, whether a file lock is seen by a second open file,
how long other hosts' caches may serve an old version, the Redis round trip and
clock skew, a lease TTL and commit margin suggested from the measured latencies,
and which fencing guarantee holds (README: "Guarantees per volume type" and
"The residual window").

With --peer, run doctor on two replicas at once (on two hosts, on the same
volume): they meet through files under .sharedwrite/doctor/ and test whether a
file lock taken by one is seen by the other. Redis is not needed for that.

doctor exits 5 when a guarantee the configuration relies on does not hold, and
6 when the configured Redis cannot be reached. On a volume that does not
answer it gives up after --timeout (exit 3), naming the step.`,
		Example: `  sharedwrite --root /mnt/shared doctor
  sharedwrite --root /mnt/shared doctor --peer    # at the same time on a second host`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.peer, "peer", false, "meet a second replica running doctor --peer on the same volume and test lock propagation")
	f.DurationVar(&o.peerWait, "peer-wait", time.Minute, "how long --peer waits for the other replica")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	return cmd
}

// doctorReport is everything doctor found.
type doctorReport struct {
	Root        string        `json:"root"`
	Mode        string        `json:"mode"`        // this replica's: redis or local
	Volume      string        `json:"volume_mode"` // the volume's recorded mode, "" when not initialised or not readable (VolumeErr)
	VolumeErr   string        `json:"volume_error,omitempty"`
	Redis       string        `json:"redis,omitempty"`
	RedisErr    string        `json:"redis_error,omitempty"` // "unreachable: " or "refused: ", then the step and the error
	FS          fsInfo        `json:"fs"`
	Probe       fsProbe       `json:"probe"`
	LockScope   lockScope     `json:"lock_scope"`
	LockWhy     string        `json:"lock_scope_reason"`
	Peer        *peerResult   `json:"peer,omitempty"`
	StaleWindow time.Duration `json:"stale_window_ns"`
	StaleWhy    string        `json:"stale_window_reason"`
	RedisRTT    *rttStats     `json:"redis_rtt,omitempty"`
	ClockSkew   time.Duration `json:"clock_skew_ns,omitempty"`
	SuggestTTL  time.Duration `json:"suggested_lease_ttl_ns"`
	SuggestMarg time.Duration `json:"suggested_commit_margin_ns"`
	Fencing     string        `json:"fencing"`
	Warnings    []string      `json:"warnings,omitempty"`
	Problems    []string      `json:"problems,omitempty"`
}

// peerGrace is how long the peer test may run past --peer-wait, or after a
// signal, before a volume that stopped answering is given up: its last
// announcement and its removal.
const peerGrace = 5 * time.Second

func runDoctor(ctx context.Context, g *globals, o *doctorOpts) (err error) {
	if o.peerWait < 0 {
		return usagef("--peer-wait %v: must not be negative", o.peerWait)
	}
	abs, err := filepath.Abs(g.root)
	if err != nil {
		return volumeError{fmt.Errorf("doctor: root %s: %w", quote.Name(g.root), err)}
	}
	rep := &doctorReport{Root: abs, Mode: "local"}
	if g.redisURL != "" {
		rep.Mode = "redis"
	}
	// A volume that does not answer blocks its calls for good: they run
	// apart, bounded by --timeout (see answered), and fill rep, which is
	// ours again once answered returned nil.
	var (
		root  *os.Root
		volID string
	)
	v := &volumeCalls{timeout: g.timeout}
	vctx, cancel := g.bounded(ctx)
	var probing atomic.Bool // the write-path probes began: files may be left
	probed := time.Now()
	err = answered(vctx, v, abs, func(at func(step string)) (err error) {
		root, volID, err = probeVolume(abs, rep, func(step string) {
			at(step)
			if step == probesStep {
				probing.Store(true)
			}
		})
		return err
	})
	probeTime := time.Since(probed)
	cancel()
	if err != nil {
		if errors.Is(err, errNoAnswer) && probing.Load() {
			// No clean-up on a volume that does not answer (see
			// cleanUpDoctor): what the probes made by then stays.
			err = fmt.Errorf("%w; left behind: %s", err, leftBehind([]string{doctorDir, metaDir}, false))
		}
		return err
	}
	defer func() {
		if v.stuck() == nil {
			root.Close()
		}
	}()
	// Leave the volume as found (see cleanUpDoctor): its error, when the
	// run's own decides the exit, is said as well.
	defer func() {
		cerr := cleanUpDoctor(ctx, g, v, root, abs, o.peer, probeTime)
		if err == nil {
			err = cerr
		} else if cerr != nil {
			io.WriteString(g.stderr, "sharedwrite: "+cerr.Error()+"\n")
		}
	}()

	rep.LockScope, rep.LockWhy = rep.FS.lockScope()
	rep.StaleWindow, rep.StaleWhy = rep.FS.staleWindow()

	var redisErr error
	if g.redisURL != "" {
		rep.Redis = redactURL(g.redisURL)
		redisErr = probeRedis(ctx, g, volID, rep)
	}
	if o.peer {
		// meetPeer ends by itself at --peer-wait; on a volume that stops
		// answering meanwhile it is given up a little later, or a little
		// after a signal (see answered), and the volume is left alone.
		var pr *peerResult
		pv := &volumeCalls{signalGrace: peerGrace}
		pctx, cancel := context.WithTimeout(ctx, o.peerWait+peerGrace)
		err := answered(pctx, pv, abs, func(at func(step string)) (err error) {
			at("peer test")
			pr, err = meetPeer(ctx, root, o.peerWait, g.stderr)
			return err
		})
		cancel()
		if errors.Is(err, errNoAnswer) {
			v.hung.CompareAndSwap(nil, pv.hung.Load())
			return err
		}
		if err != nil {
			rep.Problems = append(rep.Problems, "peer test: "+err.Error())
		} else {
			rep.Peer = pr
		}
	}
	rep.judge(g.leaseTTL)

	if o.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.print(g.stdout)
	}
	if err != nil {
		// Without its report doctor has failed, whatever it found.
		return stdoutError("doctor "+quote.Name(abs), err)
	}
	if redisErr != nil {
		return fmt.Errorf("doctor %s: %w", quote.Name(abs), redisErr)
	}
	if len(rep.Problems) > 0 {
		return volumeError{fmt.Errorf("doctor %s: %d guarantee(s) this configuration relies on do not hold: %s",
			quote.Name(abs), len(rep.Problems), strings.Join(rep.Problems, "; "))}
	}
	return nil
}

// judge derives the suggestions, the fencing guarantee and the problems.
func (r *doctorReport) judge(ttl time.Duration) {
	p := r.Probe
	r.Problems = append(r.Problems, p.ProbeErrors...)
	switch {
	case r.VolumeErr != "" && r.Volume == "":
		// Not "not initialised": init-volume would refuse it too.
		r.Problems = append(r.Problems, "the volume's metadata is not usable: "+r.VolumeErr)
	case r.Volume == "" && r.Mode == "redis":
		r.Problems = append(r.Problems, "volume not initialised for Redis mode: run 'sharedwrite init-volume' once")
	case r.Volume != "" && r.Volume != r.Mode:
		r.Problems = append(r.Problems, "the volume is in "+r.Volume+" mode, this replica runs in "+r.Mode+" mode: its writes are refused")
	case r.VolumeErr != "":
		r.Problems = append(r.Problems, "the volume's metadata is not usable: "+r.VolumeErr)
	}
	// A probe that did not run (an earlier step failed: see ProbeErrors)
	// says nothing either way.
	switch {
	case p.RenameErr != "":
		r.Problems = append(r.Problems, "rename of a temp onto the target failed: "+p.RenameErr)
	case p.Rounds > 0 && !p.SameDevice:
		r.Problems = append(r.Problems, "temp and target are on different devices: every commit falls back to a copy (EXDEV)")
	}
	if p.Link != notProbed && p.Link != "ok" && p.NoReplace != "ok" {
		r.Problems = append(r.Problems, "no create-only commit (link: "+p.Link+"; RENAME_NOREPLACE: "+p.NoReplace+"): init could replace another replica's file")
	}
	if p.DirFsync != notProbed && p.DirFsync != "accepted" {
		r.Problems = append(r.Problems, "directory fsync refused ("+p.DirFsync+"): a commit may not survive a crash (exit 7 unless accepted)")
	}
	if p.FileLock != notProbed && p.FileLock != "works" {
		r.Problems = append(r.Problems, "file lock: "+p.FileLock)
	}

	scope := r.LockScope
	if r.Peer != nil {
		switch {
		case !r.Peer.Propagates:
			scope = scopeMount
		case r.Peer.SameHost:
			// Two replicas on one host share its kernel's locks whatever the
			// volume does between hosts: that says nothing about other hosts.
		case scope != scopeHost:
			scope = scopeCluster
		}
	}
	switch {
	case scope == scopeHost:
		r.Fencing = "one host: the file lock serialises every holder, so a paused holder that wakes past its lease fails its validity check or commits while still the only holder"
	case scope == scopeCluster:
		r.Fencing = "locks are cluster-wide: the file lock serialises holders on every host; residual risk: a lock revoked after a partition longer than the server's lease (~90 s on NFS) can let a retransmitted rename land late"
	case r.Mode == "redis":
		r.Fencing = "locks stay on each host: the Redis lease and the fence check are the only cross-host guard; a holder paused between its last check and its rename can still commit once"
	default:
		r.Fencing = "locks stay on each host and no Redis is configured: NO cross-host guard"
		r.Problems = append(r.Problems, "local mode on a volume whose locks do not reach other hosts ("+r.LockWhy+"): use --redis when more than one host writes")
	}
	if scope == scopeUnknown && r.Mode == "local" {
		r.Warnings = append(r.Warnings, "lock propagation unknown: run 'doctor --peer' on two hosts at once")
	}
	if r.Peer != nil && r.Peer.SameHost {
		r.Warnings = append(r.Warnings, "the peer ran on this same host: the peer test says nothing about other hosts")
	}
	if s := r.ClockSkew.Abs(); s > time.Second {
		r.Warnings = append(r.Warnings, fmt.Sprintf("clock skew against Redis %v: leases use monotonic clocks and are unaffected, but record times and sweep ages are off by as much", r.ClockSkew.Round(time.Millisecond)))
	}

	// A commit needs: the record fsync and the data fsync (≈ one file fsync
	// each), the rename, the directory fsync and two Redis round trips. The
	// margin leaves four times the worst observed; the TTL five margins, as the
	// default margin is TTL/5.
	var rtt time.Duration
	if r.RedisRTT != nil {
		rtt = r.RedisRTT.Max
	}
	work := 2*p.Fsync + p.Rename + p.DirSync + 2*rtt
	r.SuggestMarg = roundUp(max(4*work, 50*time.Millisecond), 10*time.Millisecond)
	r.SuggestTTL = roundUp(max(5*r.SuggestMarg, 2*time.Second), time.Second)
	if ttl > 0 && ttl/5 < r.SuggestMarg {
		r.Warnings = append(r.Warnings, fmt.Sprintf("--lease-ttl %v leaves a commit margin of %v, below the suggested %v", ttl, ttl/5, r.SuggestMarg))
	}
}

// volumeMode reads the mode recorded in .sharedwrite/config: "" when the
// volume has none (no config, no .sharedwrite); an error naming the file when
// it cannot be read (not a regular file, permission denied, ...).
func volumeMode(root *os.Root) (string, error) {
	name := metaDir + "/config"
	if fi, err := root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: %w", quote.Name(name), writer.NotRegularError(fi.Mode()))
	}
	b, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", quote.Name(name), err)
	}
	m, _ := strings.CutPrefix(strings.TrimSpace(string(b)), "mode=")
	return m, nil
}

func roundUp(d, unit time.Duration) time.Duration { return (d + unit - 1) / unit * unit }

// print writes the report as a table to w and returns the first write error.
func (r *doctorReport) print(w io.Writer) error {
	sw := &stickyWriter{w: w}
	tw := tabwriter.NewWriter(sw, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, args...)) }
	vol := r.Volume
	switch {
	case vol == "" && r.VolumeErr != "":
		vol = "metadata not usable"
	case vol == "":
		vol = "not initialised"
	}
	fmt.Fprintf(tw, "sharedwrite doctor %s (%s mode; volume: %s)\n", quote.Name(r.Root), r.Mode, vol)
	fsType := r.FS.Type
	if fsType == "" {
		fsType = "unknown (statfs " + r.FS.Magic + ")"
	}
	row("filesystem", "%s on %s, mounted at %s (%s)", fsType, quote.Name(r.FS.Source), quote.Name(r.FS.MountPoint), strings.Join(r.FS.Options, ","))
	p := r.Probe
	switch {
	case p.RenameErr != "":
		row("temp + rename", "FAILED: %s", p.RenameErr)
	case p.Rounds == 0:
		row("temp + rename", "%s", notProbed)
	case p.SameDevice:
		row("temp + rename", "ok, same device (worst of %d: fsync %v, rename %v, dir fsync %v)", p.Rounds, round(p.Fsync), round(p.Rename), round(p.DirSync))
	default:
		row("temp + rename", "temp on another device: EXDEV fallback (copy)")
	}
	row("create-only", "link(2): %s; RENAME_NOREPLACE: %s", p.Link, p.NoReplace)
	row("directory fsync", "%s", p.DirFsync)
	row("file lock", "%s", p.FileLock)
	row("lock scope", "%s: %s", r.LockScope, r.LockWhy)
	if r.Peer != nil {
		row("peer test", "%s", r.Peer)
	}
	row("stale-view window", "%v (%s)", r.StaleWindow, r.StaleWhy)
	switch {
	case r.Redis == "":
		row("redis", "none (local mode)")
	case r.RedisErr == "" && r.RedisRTT != nil:
		row("redis", "%s: round trip p50 %v, max %v; clock skew %v", r.Redis, round(r.RedisRTT.P50), round(r.RedisRTT.Max), r.ClockSkew.Round(time.Microsecond))
	default:
		msg := r.RedisErr
		if rest, ok := strings.CutPrefix(msg, "unreachable"); ok {
			msg = "UNREACHABLE" + rest
		} else if msg == "" {
			msg = notProbed // no client could be made (the error says why)
		}
		if r.RedisRTT != nil {
			msg = fmt.Sprintf("round trip p50 %v, max %v; then %s", round(r.RedisRTT.P50), round(r.RedisRTT.Max), msg)
		}
		row("redis", "%s: %s", r.Redis, msg)
	}
	row("suggested", "--lease-ttl %v or more, commit margin %v or more (from the worst fsync, rename, dir fsync and Redis round trip above)", r.SuggestTTL, r.SuggestMarg)
	row("fencing", "%s", r.Fencing)
	for _, w := range r.Warnings {
		row("warning", "%s", w)
	}
	if len(r.Problems) == 0 {
		row("verdict", "ok")
	}
	for _, pr := range r.Problems {
		row("PROBLEM", "%s", pr)
	}
	tw.Flush()
	return sw.err
}

var errNoPeer = errors.New("no peer came")
