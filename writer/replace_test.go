package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesAndCreates(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	tests := []struct {
		name, file, data string
	}{
		{"new at top", "a.txt", "one"},
		{"replace", "a.txt", "two"},
		{"new parents", "x/y/z.txt", "deep"},
		{"empty content", "empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.WriteFile(ctx, tc.file, []byte(tc.data), 0o644); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			if got := readString(t, filepath.Join(dir, tc.file)); got != tc.data {
				t.Errorf("content: got %q; want %q", got, tc.data)
			}
			noTemps(t, dir)
		})
	}
}

func TestCreateStreamingSumAndAbort(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	f, err := r.Create(ctx, "new/dir/s.bin", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	sum, size := f.Sum()
	if want := sha256.Sum256([]byte("hello world")); sum != want || size != 11 {
		t.Errorf("Sum: got %x/%d; want %x/11", sum, size, want)
	}
	if _, err := os.Stat(filepath.Join(dir, f.TempName())); err != nil {
		t.Errorf("temp %s not there before Abort: %v", f.TempName(), err)
	}
	if err := f.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory created by Create left after Abort: stat err %v", err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("second Abort: got %v; want nil", err)
	}
	if err := f.Commit(ctx); err == nil {
		t.Errorf("Commit after Abort: got nil; want error")
	}

	f, err = r.Create(ctx, "s.bin", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: got %v; want nil", err)
	}
	if got := readString(t, filepath.Join(dir, "s.bin")); got != "x" {
		t.Errorf("after Abort following Commit: got %q; want %q", got, "x")
	}
	noTemps(t, dir)
}

func TestObserveSteps(t *testing.T) {
	r, _ := openRoot(t)
	var steps []string
	obs := Observe(func(ev Event) {
		steps = append(steps, ev.Step)
		if ev.Path == "" || ev.Dur < 0 {
			t.Errorf("event %+v: no path or negative duration", ev)
		}
	})
	if err := r.WriteFile(context.Background(), "f", []byte("x"), 0o644, obs); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(steps, ","), "write,fsync,rename,dirsync"; got != want {
		t.Errorf("steps: got %s; want %s", got, want)
	}
	steps = nil
	refuse := PreCommit(func(context.Context, Change) error { return errors.New("no") })
	_ = r.WriteFile(context.Background(), "new/f", []byte("x"), 0o644, obs, refuse)
	if got, want := strings.Join(steps, ","), "write,fsync,rollback,rollback"; got != want {
		t.Errorf("steps of a refused commit that made a directory: got %s; want %s", got, want)
	}
}
