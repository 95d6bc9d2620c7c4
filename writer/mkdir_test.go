package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMkdirAll(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "file"), "x", 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "have", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"new tree", "a/b/c", nil},
		{"existing", "have/sub", nil},
		{"partly existing", "have/sub/x/y", nil},
		{"under a file", "file/x", syscall.ENOTDIR},
		{"file itself", "file", syscall.ENOTDIR},
		{"dotdot", "../escape", ErrOutsideRoot},
		{"absolute", "/tmp/x", ErrOutsideRoot},
		{"nul", "a\x00b", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.MkdirAll(context.Background(), tt.path, 0o755)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("MkdirAll(%q): %v; want nil", tt.path, err)
				}
				fi, err := os.Stat(filepath.Join(dir, tt.path))
				if err != nil || !fi.IsDir() {
					t.Fatalf("after MkdirAll(%q): stat %v, %v; want a directory", tt.path, fi, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("MkdirAll(%q): %v; want %v", tt.path, err, tt.wantErr)
			}
		})
	}
}

func TestMkdirAllPermMinusUmask(t *testing.T) {
	r, dir := openRoot(t)
	if err := r.MkdirAll(context.Background(), "p/q", 0o777); err != nil {
		t.Fatal(err)
	}
	want := fs.FileMode(0o777) &^ fs.FileMode(umask())
	for _, p := range []string{"p", "p/q"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s: got %v; want %v", p, got, want)
		}
	}
}

// mkdirTree returns a random path of depth 1..4 in a tree of fan-out 3, so
// that concurrent callers overlap heavily.
func mkdirTree(rng *rand.Rand) string {
	parts := make([]string, 1+rng.IntN(4))
	for i := range parts {
		parts[i] = fmt.Sprintf("d%d", rng.IntN(3))
	}
	return path.Join(parts...)
}

// rmdirLoop removes random empty directories of the tree until stop is
// closed, standing in for concurrent MkdirAll calls that roll back what they
// created: a creator then finds its parent gone (ENOENT).
func rmdirLoop(dir string, seed uint64, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for {
		select {
		case <-stop:
			return
		default:
		}
		_ = syscall.Rmdir(filepath.Join(dir, mkdirTree(rng)))
	}
}

func TestMkdirAllConcurrentGoroutines(t *testing.T) {
	r, dir := openRoot(t)
	stop := make(chan struct{})
	var removers sync.WaitGroup
	for i := range 4 {
		removers.Go(func() { rmdirLoop(dir, uint64(i), stop) })
	}
	var retries sync.Map
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				p := mkdirTree(rng)
				err := r.MkdirAll(ctx, p, 0o755, Observe(func(e Event) {
					if e.Step == "retry" {
						retries.Store(e.Path, true)
					}
				}))
				if err != nil {
					errs <- fmt.Errorf("MkdirAll(%q): %w", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	removers.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%v; want nil (a concurrent rollback is transient)", err)
	}
	n := 0
	retries.Range(func(any, any) bool { n++; return true })
	t.Logf("paths that saw a retry: %d", n)
}
