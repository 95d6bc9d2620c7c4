//go:build linux

package writer

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// crashRounds is how many times the crash tests kill a child: a few dozen
// in a normal run, 200 with SHAREDWRITE_SOAK=1.
func crashRounds() int {
	switch {
	case os.Getenv("SHAREDWRITE_SOAK") == "1":
		return 200
	case testing.Short():
		return 10
	}
	return 30
}

// seedOf reads p and returns the seed of the complete crash payload it
// holds; ok is false when p is missing, torn or not a payload.
func seedOf(p string) (seed uint64, ok bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, false
	}
	return payloadSeed(b)
}

// A child moving a few-MB file across filesystems (tmpfs onto the disk: the
// buffered copy; between two bind mounts of one filesystem: copy_file_range)
// is SIGKILLed at moments spread over the whole Move. After each kill the
// source is intact or the destination complete (never neither); running the
// Move again completes it and leaves no intent; Sweep then leaves no temp.
func TestMoveCrash(t *testing.T) {
	rigs := []struct {
		name string
		rig  func(t *testing.T) (rootDir, srcDir string)
	}{
		{"tmpfs to disk", func(t *testing.T) (string, string) {
			return t.TempDir(), testrig.Tmpfs(t, "64m")
		}},
		{"bind-mounted views", func(t *testing.T) (string, string) {
			base := t.TempDir()
			rootDir := mkdirs(t, base, "root")
			mkdirs(t, base, "spool")
			view := t.TempDir()
			testrig.BindMount(t, base, view)
			return rootDir, filepath.Join(view, "spool")
		}},
	}
	for _, rig := range rigs {
		t.Run(rig.name, func(t *testing.T) {
			testrig.NeedRoot(t)
			rootDir, srcDir := rig.rig(t)
			moveCrash(t, rootDir, srcDir, max(crashRounds()/2, 5))
		})
	}
}

func moveCrash(t *testing.T, rootDir, srcDir string, rounds int) {
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const size = 6 << 20
	src, dst := filepath.Join(srcDir, "spool.bin"), filepath.Join(rootDir, "out", "dst.bin")
	ctx := context.Background()

	// Calibrate: one uninterrupted Move, timed from the child's "ready".
	if err := os.WriteFile(src, crashPayload(1000, size), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := startOpsChild(t, "move", rootDir, src, "out/dst.bin")
	if out, err := c.wait(); err != nil {
		t.Fatalf("calibration Move: %v: %s", err, out)
	}
	took := time.Since(start)
	if s, ok := seedOf(dst); !ok || s != 1000 {
		t.Fatalf("calibration Move: destination seed %d, %v; want 1000", s, ok)
	}
	t.Logf("one Move of %d MiB takes %v in a child", size>>20, took)

	outcomes := map[string]int{}
	prev := uint64(1000)
	for i := range rounds {
		seed := uint64(i + 1)
		if err := os.WriteFile(src, crashPayload(seed, size), 0o644); err != nil {
			t.Fatal(err)
		}
		c := startOpsChild(t, "move", rootDir, src, "out/dst.bin")
		delay := rand.N(took * 6 / 5)
		time.Sleep(delay)
		c.kill()

		srcSeed, srcOK := seedOf(src)
		dstSeed, dstOK := seedOf(dst)
		_, srcErr := os.Lstat(src)
		switch {
		case srcErr == nil && (!srcOK || srcSeed != seed):
			t.Fatalf("round %d (kill after %v): source damaged", i, delay)
		case !dstOK:
			t.Fatalf("round %d (kill after %v): destination is not a complete payload", i, delay)
		case !srcOK && dstSeed != seed:
			t.Fatalf("round %d (kill after %v): source gone and destination holds seed %d; want %d", i, delay, dstSeed, seed)
		case dstSeed != seed && dstSeed != prev:
			t.Fatalf("round %d: destination holds seed %d; want %d or %d", i, dstSeed, prev, seed)
		}
		_, intentErr := os.Lstat(moveIntentPath(src))
		outcomes[map[bool]string{true: "source intact", false: "source moved"}[srcOK]+
			map[bool]string{true: ", intent left", false: ""}[intentErr == nil]]++

		if err := r.Move(ctx, src, "out/dst.bin"); err != nil && srcOK {
			t.Fatalf("round %d: Move again: %v", i, err)
		}
		if s, ok := seedOf(dst); !ok || s != seed {
			t.Fatalf("round %d: after the second Move the destination holds %d, %v; want %d", i, s, ok, seed)
		}
		if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: source left after the second Move: %v", i, err)
		}
		if _, err := os.Lstat(moveIntentPath(src)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: intent left after the second Move: %v", i, err)
		}
		if _, err := r.Sweep(ctx, 0); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		noTemps(t, rootDir)
		prev = seed
	}
	t.Logf("outcomes over %d kills: %v", rounds, outcomes)
}
