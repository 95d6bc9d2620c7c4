//go:build linux

package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// busyRig makes dir/mounted a file with a file bind-mounted onto it (as
// docker -v file:file does) and returns the root and the bind source.
func busyRig(t *testing.T, content string) (r *Root, dir, source string) {
	t.Helper()
	r, dir = openRoot(t)
	mustWrite(t, filepath.Join(dir, "mounted"), "placeholder", 0o644)
	source = filepath.Join(t.TempDir(), "source")
	mustWrite(t, source, content, 0o640)
	testrig.BindMount(t, source, filepath.Join(dir, "mounted"))
	return r, dir, source
}

// noInPlaceLeftovers checks that no marker, backup or temp is left.
func noInPlaceLeftovers(t *testing.T, dir, name string) {
	t.Helper()
	m, b := inPlaceNames(name)
	for _, p := range []string{m, b} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	noTemps(t, dir)
}

func TestBusyTarget(t *testing.T) {
	ops := []struct {
		name string
		do   func(r *Root, data string, opts ...Option) error
	}{
		{"WriteFile", func(r *Root, data string, opts ...Option) error {
			return r.WriteFile(context.Background(), "mounted", []byte(data), 0o644, opts...)
		}},
		{"Move", func(r *Root, data string, opts ...Option) error {
			src := filepath.Join(os.TempDir(), "sharedwrite-move-busy-"+strings.ReplaceAll(time.Now().String(), " ", "_"))
			if err := os.WriteFile(src, []byte(data), 0o600); err != nil {
				return err
			}
			defer os.Remove(src)
			err := r.Move(context.Background(), src, "mounted", opts...)
			if _, serr := os.Lstat(src); err == nil && serr == nil {
				return errors.New("source left after a committed Move")
			}
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name+"/default", func(t *testing.T) {
			r, dir, source := busyRig(t, "old content")
			err := op.do(r, "new")
			if !errors.Is(err, ErrBusyTarget) || !errors.Is(err, syscall.EBUSY) {
				t.Fatalf("%s onto a bind-mounted file: %v; want ErrBusyTarget and EBUSY", op.name, err)
			}
			if !strings.Contains(err.Error(), "EBUSY") || !strings.Contains(err.Error(), "bind") {
				t.Errorf("error %q does not name EBUSY and the bind mount", err)
			}
			if got := readString(t, source); got != "old content" {
				t.Errorf("target: got %q; want unchanged", got)
			}
			noInPlaceLeftovers(t, dir, "mounted")
		})
		for _, tc := range []struct{ name, old, new string }{
			{"shorter", "old content, longer than the new", "new"},
			{"longer", "old", "new content, longer than the old one"},
		} {
			t.Run(op.name+"/InPlaceIfBusy/"+tc.name, func(t *testing.T) {
				r, dir, source := busyRig(t, tc.old)
				var changes []Change
				hook := PreCommit(func(_ context.Context, c Change) error { changes = append(changes, c); return nil })
				if err := op.do(r, tc.new, InPlaceIfBusy(), hook); err != nil {
					t.Fatalf("%s with InPlaceIfBusy: %v", op.name, err)
				}
				if got := readString(t, filepath.Join(dir, "mounted")); got != tc.new {
					t.Errorf("target: got %q; want %q", got, tc.new)
				}
				if got := readString(t, source); got != tc.new {
					t.Errorf("bind source: got %q; want %q", got, tc.new)
				}
				fi, _ := os.Stat(source)
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("mode: got %v; want the target's 0640 kept", fi.Mode().Perm())
				}
				if len(changes) == 0 || changes[len(changes)-1].Op != "inplace" {
					t.Errorf("PreCommit changes %+v; want the last with Op inplace", changes)
				}
				noInPlaceLeftovers(t, dir, "mounted")
			})
		}
	}
	t.Run("Remove/default", func(t *testing.T) {
		r, _, source := busyRig(t, "old content")
		err := r.Remove(context.Background(), "mounted")
		if !errors.Is(err, ErrBusyTarget) || !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("Remove of a bind-mounted file: %v; want ErrBusyTarget and EBUSY", err)
		}
		// The step is the removal: nothing was renamed.
		if msg := err.Error(); !strings.Contains(msg, "remove") || !strings.Contains(msg, "EBUSY") || strings.Contains(msg, "rename") {
			t.Errorf("error %q; want it to name the removal and EBUSY, and no rename", msg)
		}
		if got := readString(t, source); got != "old content" {
			t.Errorf("target: got %q; want unchanged", got)
		}
	})
}

// A refused hook before the in-place write leaves the old content.
func TestInPlaceHookRefused(t *testing.T) {
	r, dir, source := busyRig(t, "old")
	refuse := errors.New("fenced")
	err := r.WriteFile(context.Background(), "mounted", []byte("new"), 0o644, InPlaceIfBusy(),
		PreCommit(func(_ context.Context, c Change) error {
			if c.Op == "inplace" {
				return refuse
			}
			return nil
		}))
	if !errors.Is(err, refuse) {
		t.Fatalf("WriteFile: %v; want the hook's error", err)
	}
	if got := readString(t, source); got != "old" {
		t.Errorf("target: got %q; want %q", got, "old")
	}
	noInPlaceLeftovers(t, dir, "mounted")
}

// A child rewriting a bind-mounted file in place is SIGKILLed at moments
// spread over the rewrite; then one of several operations on the file runs,
// and the file holds a whole version (old or new; the payload checks itself).
func TestInPlaceCrash(t *testing.T) {
	testrig.NeedRoot(t)
	const size = 3 << 20
	r, dir, source := busyRig(t, "")
	if err := os.WriteFile(source, crashPayload(1000, size), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	c := startOpsChild(t, "inplace", dir, "mounted", "2000", "3145728")
	if out, err := c.wait(); err != nil {
		t.Fatalf("calibration rewrite: %v: %s", err, out)
	}
	took := time.Since(start)
	if s, ok := seedOf(source); !ok || s != 2000 {
		t.Fatalf("calibration rewrite: seed %d, %v; want 2000", s, ok)
	}
	t.Logf("one in-place rewrite of %d MiB takes %v in a child", size>>20, took)

	// Each operation returns the seed it wrote itself, or 0 when the target
	// must hold the old or the new version of the killed rewrite.
	prev := uint64(2000)
	then := []struct {
		name string
		do   func(seed uint64) (uint64, error)
	}{
		{"Create+Abort", func(uint64) (uint64, error) {
			f, err := r.Create(ctx, "mounted", 0o644)
			if err != nil {
				return 0, err
			}
			return 0, f.Abort()
		}},
		{"Sweep", func(uint64) (uint64, error) { _, err := r.Sweep(ctx, time.Hour); return 0, err }},
		{"WriteFile in place", func(seed uint64) (uint64, error) {
			return seed + 5000, r.WriteFile(ctx, "mounted", crashPayload(seed+5000, size/2), 0o644, InPlaceIfBusy())
		}},
		{"Move in place", func(seed uint64) (uint64, error) {
			src := filepath.Join(t.TempDir(), "src")
			if err := os.WriteFile(src, crashPayload(seed+7000, size/3), 0o644); err != nil {
				return 0, err
			}
			return seed + 7000, r.Move(ctx, src, "mounted", InPlaceIfBusy())
		}},
		{"restoreInPlace", func(uint64) (uint64, error) { return 0, restoreInPlace(ctx, r, "mounted") }},
		{"ReadFile", func(seed uint64) (uint64, error) {
			b, err := r.ReadFile(ctx, "mounted")
			if err != nil {
				return 0, err
			}
			// The reader itself must be handed a whole version.
			if got, ok := payloadSeed(b); !ok || got != seed && got != prev {
				return 0, fmt.Errorf("ReadFile returned seed %d (complete %v); want %d or %d", got, ok, prev, seed)
			}
			return 0, nil
		}},
	}
	outcomes := map[string]int{}
	for i := range crashRounds() {
		seed := uint64(i + 1)
		c := startOpsChild(t, "inplace", dir, "mounted", itoa(seed), itoa(size))
		delay := rand.N(took * 6 / 5)
		time.Sleep(delay)
		c.kill()
		m, _ := inPlaceNames("mounted")
		_, markerErr := os.Lstat(filepath.Join(dir, m))

		op := then[i%len(then)]
		wrote, err := op.do(seed)
		if err != nil {
			t.Fatalf("round %d (kill after %v): %s: %v", i, delay, op.name, err)
		}
		got, ok := seedOf(source)
		if wrote != 0 {
			if !ok || got != wrote {
				t.Fatalf("round %d (kill after %v, then %s): target holds seed %d (complete %v); want %d", i, delay, op.name, got, ok, wrote)
			}
		} else if !ok || got != seed && got != prev {
			t.Fatalf("round %d (kill after %v, then %s): target holds seed %d (complete %v); want %d or %d", i, delay, op.name, got, ok, prev, seed)
		}
		if _, err := os.Lstat(filepath.Join(dir, m)); err == nil {
			t.Fatalf("round %d: marker left after %s", i, op.name)
		}
		// The killed child's temp (and a backup whose marker was already
		// removed) are orphans for Sweep.
		if _, err := r.Sweep(ctx, 0); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		noInPlaceLeftovers(t, dir, "mounted")
		if wrote == 0 {
			outcomes[map[bool]string{true: "new", false: "old"}[got == seed]+map[bool]string{true: ", marker left", false: ""}[markerErr == nil]]++
		}
		prev = got
	}
	t.Logf("outcomes over %d kills: %v", crashRounds(), outcomes)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// A marker belongs to the file it was written for: while the bind mount is
// gone (the name shows the file beneath), settling leaves both alone; once
// the file is mounted again it is restored.
func TestInPlaceMarkerFollowsItsFile(t *testing.T) {
	r, dir, source := busyRig(t, "new content, torn")
	target := filepath.Join(dir, "mounted")
	fi, err := os.Stat(source)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := fileID(fi)
	oldData, newData := []byte("old content"), []byte("new content")
	mRel, bRel := inPlaceNames("mounted")
	mustWrite(t, filepath.Join(dir, bRel), string(oldData), 0o600)
	in := inPlaceIntent{Target: "mounted", Dev: dev, Ino: ino, OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData), NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}
	mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)

	testrig.Unmount(t, target)
	if err := restoreInPlace(context.Background(), r, "mounted"); err != nil {
		t.Fatalf("restoreInPlace with the bind mount gone: %v", err)
	}
	if got := readString(t, target); got != "placeholder" {
		t.Errorf("file beneath the mount: got %q; want it untouched", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, mRel)); err != nil {
		t.Errorf("marker: %v; want it kept for its file", err)
	}

	testrig.BindMount(t, source, target)
	if err := restoreInPlace(context.Background(), r, "mounted"); err != nil {
		t.Fatalf("restoreInPlace with the file mounted again: %v", err)
	}
	if got := readString(t, source); got != string(oldData) {
		t.Errorf("restored file: got %q; want %q", got, oldData)
	}
	noInPlaceLeftovers(t, dir, "mounted")
}

// plantInPlaceMarker leaves in dir what an in-place rewrite of name killed
// mid-write leaves when the file it rewrote (other, a bind-mount source) is
// no longer the file at name: a marker recording other's device and inode,
// and the backup of other's old content. other holds torn bytes.
func plantInPlaceMarker(t *testing.T, dir, name, other string, oldData, newData, torn []byte) {
	t.Helper()
	mustWrite(t, other, string(torn), 0o644)
	fi, err := os.Stat(other)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := fileID(fi)
	mRel, bRel := inPlaceNames(name)
	mustWrite(t, filepath.Join(dir, bRel), string(oldData), 0o600)
	in := inPlaceIntent{Target: filepath.Base(name), Dev: dev, Ino: ino,
		OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData),
		NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}
	mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)
}

// A marker whose target name has no file (the bind mount is gone and the file
// beneath it was removed) is kept for its own file, and the name stays
// usable: WriteFile creates it, ReadFile reads it, Sweep succeeds, and none of
// them touches the marker or its backup.
func TestInPlaceMarkerOfMissingTargetLeavesNameUsable(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	mustWrite(t, filepath.Join(dir, "mounted"), "placeholder", 0o644) // the file beneath the mount
	oldData, newData := []byte("old content"), []byte("new content")
	plantInPlaceMarker(t, dir, "mounted", filepath.Join(t.TempDir(), "source"), oldData, newData, []byte("new conttent"))
	mRel, bRel := inPlaceNames("mounted")

	if err := r.Remove(ctx, "mounted"); err != nil {
		t.Fatalf("Remove of the file beneath the gone bind mount: %v", err)
	}
	if err := restoreInPlace(ctx, r, "mounted"); err != nil {
		t.Errorf("restoreInPlace with no file at the name: %v; want nil", err)
	}
	if err := r.WriteFile(ctx, "mounted", []byte("fresh"), 0o644); err != nil {
		t.Errorf("WriteFile after Remove: %v; want nil", err)
	}
	if got, err := r.ReadFile(ctx, "mounted"); err != nil || string(got) != "fresh" {
		t.Errorf("ReadFile: %q, %v; want %q", got, err, "fresh")
	}
	if _, err := r.Sweep(ctx, time.Hour); err != nil {
		t.Errorf("Sweep: %v; want nil", err)
	}
	for _, p := range []string{mRel, bRel} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v; want it kept for its file", p, err)
		}
	}
}

// While the name's marker belongs to a file that is not at the name, an
// in-place rewrite of the file now bind-mounted there is refused with an
// error naming the marker (fs.ErrExist), and changes nothing: the mounted
// file keeps its content, the marker and its backup stay, and when the
// marker's file is mounted again the next operation restores it.
func TestInPlaceRefusedWhileAnotherFilesMarkerIsPending(t *testing.T) {
	r, dir, y := busyRig(t, "y old") // Y bind-mounted on "mounted"
	ctx := context.Background()
	x := filepath.Join(t.TempDir(), "x")
	oldData, newData := []byte("x old content"), []byte("x new content")
	plantInPlaceMarker(t, dir, "mounted", x, oldData, newData, []byte("x new contenttent"))
	mRel, bRel := inPlaceNames("mounted")

	err := r.WriteFile(ctx, "mounted", []byte("y new"), 0o644, InPlaceIfBusy())
	t.Logf("WriteFile: %v", err)
	var e *Error
	if !errors.Is(err, fs.ErrExist) || !errors.As(err, &e) || e.Path != mRel {
		t.Errorf("WriteFile in place of Y: %v; want fs.ErrExist naming %s", err, mRel)
	}
	if got := readString(t, y); got != "y old" {
		t.Errorf("Y: got %q; want %q (nothing changed)", got, "y old")
	}
	for _, p := range []string{mRel, bRel} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s of X's crashed rewrite: %v; want it kept until X is back", p, err)
		}
	}
	noTemps(t, dir)

	// X comes back (its container restarts): the next operation restores it.
	target := filepath.Join(dir, "mounted")
	testrig.Unmount(t, target)
	testrig.BindMount(t, x, target)
	if err := restoreInPlace(ctx, r, "mounted"); err != nil {
		t.Fatalf("restoreInPlace with X mounted again: %v", err)
	}
	if got := readString(t, x); got != string(oldData) {
		t.Errorf("X after restoreInPlace: %q; want %q", got, oldData)
	}
	noInPlaceLeftovers(t, dir, "mounted")
}
