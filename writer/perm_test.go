package writer

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPermNewFileMinusUmask(t *testing.T) {
	r, dir := openRoot(t)
	mask := fs.FileMode(umask())
	for _, perm := range []fs.FileMode{0o666, 0o644, 0o600, 0o640, 0o777} {
		name := "p" + perm.String()
		if err := r.WriteFile(context.Background(), name, []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// os.WriteFile is the reference.
		ref := filepath.Join(dir, "ref"+perm.String())
		if err := os.WriteFile(ref, []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
		rfi, _ := os.Stat(ref)
		if got, want := fi.Mode().Perm(), perm&^mask; got != want || got != rfi.Mode().Perm() {
			t.Errorf("perm %v with umask %03o: got %v; want %v (os.WriteFile gives %v)", perm, mask, got, want, rfi.Mode().Perm())
		}
	}
}

func TestPermExistingFileKeepsModeUnlessForced(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	p := filepath.Join(dir, "f")
	mustWrite(t, p, "old", 0o600)
	if err := os.Chmod(p, 0o751|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(ctx, "f", []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if got, want := fi.Mode()&(fs.ModePerm|fs.ModeSetgid), 0o751|fs.ModeSetgid; got != want {
		t.Errorf("kept mode: got %v; want %v", got, want)
	}
	if err := r.WriteFile(ctx, "f", []byte("newer"), 0o600, Mode(0o604)); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(p)
	if got, want := fi.Mode()&(fs.ModePerm|fs.ModeSetgid), fs.FileMode(0o604); got != want {
		t.Errorf("forced mode: got %v; want %v", got, want)
	}
	if got := readString(t, p); got != "newer" {
		t.Errorf("content: got %q; want %q", got, "newer")
	}
	// Mode also applies to a new file, without the umask.
	if err := r.WriteFile(ctx, "g", []byte("x"), 0o600, Mode(0o666)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "g")); fi.Mode().Perm() != 0o666 {
		t.Errorf("forced mode on a new file: got %v; want -rw-rw-rw-", fi.Mode().Perm())
	}
}

func TestKeepMtime(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	p := filepath.Join(dir, "m")
	mustWrite(t, p, "old", 0o644)
	old := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(ctx, "m", []byte("new"), 0o644, KeepMtime()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if !fi.ModTime().Equal(old) {
		t.Errorf("KeepMtime: mtime %v; want %v", fi.ModTime(), old)
	}
	if err := r.WriteFile(ctx, "m", []byte("newer"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(p)
	if fi.ModTime().Equal(old) {
		t.Errorf("without KeepMtime: mtime still %v", old)
	}
}
