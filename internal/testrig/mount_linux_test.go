//go:build linux

package testrig

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestTmpfsIsAnotherDevice(t *testing.T) {
	small := Tmpfs(t, "64k")
	other := t.TempDir()
	src := filepath.Join(other, "f")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := os.Rename(src, filepath.Join(small, "f"))
	if !errors.Is(err, syscall.EXDEV) {
		t.Fatalf("rename onto tmpfs: %v; want EXDEV", err)
	}
	err = os.WriteFile(filepath.Join(small, "big"), make([]byte, 256<<10), 0o600)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 256 KiB to a 64 KiB tmpfs: %v; want ENOSPC", err)
	}
}

func TestBindMountFileIsBusy(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	BindMount(t, a, b)
	tmp := filepath.Join(dir, "tmp")
	if err := os.WriteFile(tmp, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, b); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("rename onto a bind-mounted file: %v; want EBUSY", err)
	}
}
