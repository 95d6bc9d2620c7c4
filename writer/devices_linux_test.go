//go:build linux

package writer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

func TestNoSpaceLeavesOldContent(t *testing.T) {
	dir := testrig.Tmpfs(t, "64k")
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	old := bytes.Repeat([]byte("old content\n"), 1000) // 12 KB
	if err := r.WriteFile(ctx, "keep/f", old, 0o644); err != nil {
		t.Fatalf("initial write: %v", err)
	}
	before := snapshotOpt(t, dir, false)
	big := make([]byte, 256<<10)
	rand.Read(big)
	tests := []struct{ name, file string }{
		{"replace", "keep/f"},
		{"new file in new directories", "new/deeper/g"},
		{"create-only", "keep/h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.name == "create-only" {
				opts = append(opts, CreateOnly())
			}
			err := r.WriteFile(ctx, tc.file, big, 0o644, opts...)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("WriteFile of 256 KiB on a 64 KiB tmpfs: got %v; want ENOSPC", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Path == "" {
				t.Errorf("error %v does not name a path", err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "keep/f")); !bytes.Equal(got, old) {
				t.Errorf("old content changed: %d bytes, sha256 %x; want %d bytes, %x", len(got), sha256.Sum256(got), len(old), sha256.Sum256(old))
			}
			sameSnapshot(t, "tmpfs after ENOSPC", before, snapshotOpt(t, dir, false))
		})
	}
}

// TestTempDirOtherDevice writes through a TempDir on a tmpfs mounted inside
// the root: the temp cannot be renamed across, so it is copied beside the
// target (the EXDEV fallback).
func TestTempDirOtherDevice(t *testing.T) {
	r, dir := openRoot(t)
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	testrig.BindMount(t, testrig.Tmpfs(t, "16m"), spool)
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	var mu sync.Mutex
	steps := map[string]int{}
	observe := Observe(func(ev Event) { mu.Lock(); steps[ev.Step]++; mu.Unlock() })
	ctx := context.Background()
	for _, name := range []string{"out/data.bin", "out/data.bin", "top.bin"} {
		if err := r.WriteFile(ctx, name, data, 0o640, TempDir("spool"), observe); err != nil {
			t.Fatalf("WriteFile(%s) with TempDir on another device: %v", name, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("%s: sha256 %x; want %x", name, sha256.Sum256(got), sha256.Sum256(data))
		}
	}
	if steps["exdev-fallback"] != 3 {
		t.Errorf("exdev-fallback events: got %d; want 3 (steps %v)", steps["exdev-fallback"], steps)
	}
	noTemps(t, dir)
	// A TempDir on the same filesystem is renamed beside the target: no copy.
	if err := os.Mkdir(filepath.Join(dir, "samefs"), 0o755); err != nil {
		t.Fatal(err)
	}
	steps = map[string]int{}
	if err := r.WriteFile(ctx, "out/other", data[:100], 0o644, TempDir("samefs"), observe); err != nil {
		t.Fatal(err)
	}
	if steps["exdev-fallback"] != 0 {
		t.Errorf("exdev-fallback for a TempDir on the same filesystem: %d; want 0", steps["exdev-fallback"])
	}
	noTemps(t, dir)
}

func TestBusyTargetDefaultError(t *testing.T) {
	r, dir := openRoot(t)
	target := filepath.Join(dir, "mounted")
	mustWrite(t, target, "old", 0o644)
	src := filepath.Join(t.TempDir(), "src")
	mustWrite(t, src, "bind source", 0o644)
	testrig.BindMount(t, src, target)
	err := r.WriteFile(context.Background(), "mounted", []byte("new"), 0o644)
	if !errors.Is(err, ErrBusyTarget) || !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("WriteFile onto a bind-mounted file: got %v; want ErrBusyTarget and EBUSY", err)
	}
	if got := readString(t, target); got != "bind source" {
		t.Errorf("bind-mounted target: got %q; want unchanged %q", got, "bind source")
	}
	noTemps(t, dir)
	if _, err := os.Lstat(filepath.Join(dir, "mounted")); errors.Is(err, fs.ErrNotExist) {
		t.Error("target vanished")
	}
}

// TestBusyTargetInPlaceLeavesNoTemp: with InPlaceIfBusy the content lands in
// the bind-mounted file and the temp that could not be renamed is removed.
func TestBusyTargetInPlaceLeavesNoTemp(t *testing.T) {
	r, dir := openRoot(t)
	target := filepath.Join(dir, "mounted")
	mustWrite(t, target, "old", 0o644)
	src := filepath.Join(t.TempDir(), "src")
	mustWrite(t, src, "bind source", 0o644)
	testrig.BindMount(t, src, target)
	if err := r.WriteFile(context.Background(), "mounted", []byte("new"), 0o644, InPlaceIfBusy()); err != nil {
		t.Fatalf("WriteFile with InPlaceIfBusy: %v", err)
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("bind-mounted target: got %q; want %q", got, "new")
	}
	noTemps(t, dir)
}
