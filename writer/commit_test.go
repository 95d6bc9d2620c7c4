package writer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestCreateOnlyRace(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	const writers = 24
	for round := range 10 {
		name := fmt.Sprintf("init-%d/config", round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
			others  []error
		)
		start := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := r.WriteFile(ctx, name, []byte(fmt.Sprintf("writer %d", i)), 0o644, CreateOnly())
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					winners = append(winners, i)
				} else {
					others = append(others, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners (%v); want exactly 1", round, len(winners), winners)
		}
		for _, err := range others {
			if !errors.Is(err, ErrExist) || !errors.Is(err, fs.ErrExist) {
				t.Errorf("round %d: loser got %v; want ErrExist (and fs.ErrExist)", round, err)
			}
		}
		if got, want := readString(t, filepath.Join(dir, name)), fmt.Sprintf("writer %d", winners[0]); got != want {
			t.Errorf("round %d: content %q; want the winner's %q", round, got, want)
		}
	}
	noTemps(t, dir)
}

func TestPreCommitHook(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	p := filepath.Join(dir, "f")
	mustWrite(t, p, "old", 0o644)
	errFenced := errors.New("fenced")
	data := []byte("new content")

	var seen Change
	var tempAtHook []byte
	hook := func(ctx context.Context, c Change) error {
		seen = c
		tempAtHook, _ = os.ReadFile(filepath.Join(dir, c.Temp))
		return errFenced
	}
	err := r.WriteFile(ctx, "f", data, 0o644, PreCommit(hook))
	if !errors.Is(err, errFenced) {
		t.Fatalf("WriteFile with failing hook: got %v; want the hook's error", err)
	}
	if got := readString(t, p); got != "old" {
		t.Errorf("target after refused commit: got %q; want %q", got, "old")
	}
	want := Change{Op: "replace", Name: "f", Temp: seen.Temp, SHA256: sha256.Sum256(data), Size: int64(len(data))}
	if seen != want || seen.Temp == "" {
		t.Errorf("hook saw %+v; want %+v", seen, want)
	}
	if !bytes.Equal(tempAtHook, data) {
		t.Errorf("temp at hook time: got %q; want the full new content", tempAtHook)
	}
	// A refused commit that created directories removes them.
	err = r.WriteFile(ctx, "a/b/c", data, 0o644, PreCommit(hook))
	if !errors.Is(err, errFenced) {
		t.Fatalf("got %v; want the hook's error", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory a/ created by a refused commit is still there (%v)", err)
	}
	// Create-only reports Op "create"; a passing hook commits.
	var ops []string
	ok := func(ctx context.Context, c Change) error { ops = append(ops, c.Op); return nil }
	if err := r.WriteFile(ctx, "g", data, 0o644, CreateOnly(), PreCommit(ok)); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(ctx, "g", data, 0o644, PreCommit(ok)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ops) != "[create replace]" {
		t.Errorf("hook ops: got %v; want [create replace]", ops)
	}
	noTemps(t, dir)
}

func TestCancelledContextCommitsNothing(t *testing.T) {
	r, dir := openRoot(t)
	p := filepath.Join(dir, "f")
	mustWrite(t, p, "old", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := r.Create(ctx, "f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new"))
	cancel()
	if err := f.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with cancelled ctx: got %v; want context.Canceled", err)
	}
	if got := readString(t, p); got != "old" {
		t.Errorf("target: got %q; want %q", got, "old")
	}
	noTemps(t, dir)
}

func TestTempFileLiveIsLockedAndNamed(t *testing.T) {
	r, dir := openRoot(t)
	long := string(bytes.Repeat([]byte("é"), 120)) // 240 bytes
	for _, name := range []string{"plain.txt", "with.dots.in.it", long} {
		f, err := r.Create(context.Background(), name, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f.TempName())
		if len(base) > 255 {
			t.Errorf("temp name of %d bytes > 255", len(base))
		}
		tn, ok := parseTempName(base)
		if !ok || tn.PID != os.Getpid() || tn.Host != tempHost() || tn.Start != procStart() {
			t.Errorf("temp %q parses as %+v, %v; want this host/pid/start", base, tn, ok)
		}
		if name != long && tn.Target != name {
			t.Errorf("temp %q names target %q; want %q", base, tn.Target, name)
		}
		fi, err := os.Stat(filepath.Join(dir, f.TempName()))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("temp mode: %v, %v; want -rw-------", fi, err)
		}
		locked, err := r.tempLocked(f.TempName())
		if err != nil || !locked {
			t.Errorf("live temp locked: got %v, %v; want true", locked, err)
		}
		f.Write([]byte("x"))
		if err := f.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	noTemps(t, dir)
}
