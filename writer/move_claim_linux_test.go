package writer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// Two Moves of one source to two destinations across devices, at once: one
// moves it, the other moves nothing (the source is claimed, or gone). Before,
// both copied and committed, and the second then reported that it kept a
// source that was gone.
func TestMoveOfOneSourceToTwoDestinations(t *testing.T) {
	r, dir := openRoot(t)
	spool := testrig.Tmpfs(t, "96m")
	payload := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB: the copies overlap
	ctx := context.Background()
	for round := range 5 {
		src := filepath.Join(spool, "src")
		if err := os.WriteFile(src, payload, 0o644); err != nil {
			t.Fatal(err)
		}
		dsts := []string{"a", "b"}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, d := range dsts {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = r.Move(ctx, src, d) }()
		}
		wg.Wait()
		won := 0
		for i, d := range dsts {
			b, rerr := os.ReadFile(filepath.Join(dir, d))
			switch {
			case errs[i] == nil:
				won++
				if !bytes.Equal(b, payload) {
					t.Fatalf("round %d: %s moved but holds %d bytes (%v)", round, d, len(b), rerr)
				}
			case errors.Is(errs[i], syscall.EBUSY) || errors.Is(errs[i], fs.ErrNotExist):
				if !errors.Is(rerr, fs.ErrNotExist) {
					t.Fatalf("round %d: Move to %s refused (%v) but %s exists", round, d, errs[i], d)
				}
			default:
				t.Fatalf("round %d: Move to %s = %v; want nil, or EBUSY/ENOENT with nothing moved", round, d, errs[i])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d Moves succeeded (%v); want 1", round, won, errs)
		}
		if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: source after the move: %v; want it gone", round, err)
		}
		for _, d := range dsts {
			os.Remove(filepath.Join(dir, d))
		}
	}
	if tmp := temps(t, dir); len(tmp) != 0 {
		t.Fatalf("temps left: %q", tmp)
	}
}

// A Move refused because another holds its source (EBUSY) leaves that
// Move's intent alone: before, it settled the intent (removing one that
// named another destination) and only then found the source claimed.
func TestMoveRefusedOnAClaimedSourceLeavesItsIntent(t *testing.T) {
	r, dir := openRoot(t)
	spool := testrig.Tmpfs(t, "1m")
	src := filepath.Join(spool, "src")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Another Move, copying src to "a": its claim and its intent.
	other, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if busy, err := claimSource(other); busy || err != nil {
		t.Fatalf("claim: busy %v, %v", busy, err)
	}
	fi, err := other.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeMoveIntent(&config{}, src, newMoveIntent(src, dir, "a", fi)); err != nil {
		t.Fatal(err)
	}
	err = r.Move(context.Background(), src, "b")
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("Move of a claimed source = %v; want EBUSY", err)
	}
	if _, err := os.Lstat(moveIntentPath(src)); err != nil {
		t.Fatalf("the other Move's intent after the refusal: %v; want it left", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "b")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("b: %v; want nothing moved", err)
	}
}
