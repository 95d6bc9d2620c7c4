package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fillVersion writes a version: three files (one in a subdirectory) whose
// content names the version, of different sizes.
func fillVersion(v int) func(dir string) error {
	return func(dir string) error {
		for i, name := range []string{"a", "b", "sub/c"} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			body := strings.Repeat(fmt.Sprintf("v%d;", v), 100*(i+1))
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

// readVersion opens the published directory once and reads its files
// relative to it; it returns the version each file names, or an error
// wrapping fs.ErrNotExist when the version was pruned under the reader.
func readVersion(dir string) ([]string, error) {
	vr, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer vr.Close()
	var got []string
	for _, name := range []string{"a", "b", "sub/c"} {
		b, err := vr.ReadFile(name)
		if err != nil {
			return nil, err
		}
		v, _, _ := strings.Cut(string(b), ";")
		if strings.Repeat(v+";", len(b)/len(v+";")) != string(b) {
			return nil, fmt.Errorf("%s is not one version: %.40q", name, b)
		}
		got = append(got, v)
	}
	return got, nil
}

func versionDirs(t *testing.T, dir, name string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "."+name+".v*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPublishDirReadersSeeWholeVersions(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	const versions, keep = 40, 2
	if err := r.PublishDir(ctx, "conf/current", fillVersion(0), keep); err != nil {
		t.Fatalf("PublishDir: %v", err)
	}
	stop := make(chan struct{})
	var whole, pruned atomic.Int64
	var mixed sync.Map
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := readVersion(filepath.Join(dir, "conf", "current"))
				switch {
				case errors.Is(err, fs.ErrNotExist):
					pruned.Add(1)
				case err != nil:
					mixed.Store(err.Error(), true)
				case got[0] != got[1] || got[1] != got[2]:
					mixed.Store(strings.Join(got, ","), true)
				default:
					whole.Add(1)
				}
			}
		})
	}
	var changes []Change
	hook := PreCommit(func(_ context.Context, c Change) error { changes = append(changes, c); return nil })
	for v := 1; v <= versions; v++ {
		if err := r.PublishDir(ctx, "conf/current", fillVersion(v), keep, hook); err != nil {
			t.Fatalf("PublishDir version %d: %v", v, err)
		}
	}
	close(stop)
	wg.Wait()
	mixed.Range(func(k, _ any) bool { t.Errorf("a reader saw a mixed version: %v", k); return true })
	if whole.Load() == 0 {
		t.Errorf("readers saw no whole version at all")
	}
	t.Logf("reads: %d whole, %d of a pruned version", whole.Load(), pruned.Load())

	got, err := readVersion(filepath.Join(dir, "conf", "current"))
	if err != nil || got[0] != "v"+strconv.Itoa(versions) {
		t.Errorf("final version: %v, %v; want v%d", got, err, versions)
	}
	if n := len(versionDirs(t, filepath.Join(dir, "conf"), "current")); n != keep+1 {
		t.Errorf("version directories left: %d; want %d (the current one and keep=%d)", n, keep+1, keep)
	}
	if len(changes) != versions || changes[0].Op != "symlink" || changes[0].Name != "conf/current" {
		t.Errorf("PreCommit changes: %d, first %+v; want %d with Op symlink, Name conf/current", len(changes), changes[0], versions)
	}
	noTemps(t, dir)
}

func TestPublishDirRefusesAndRollsBack(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("fill failed")
	tests := []struct {
		name    string
		setup   func(t *testing.T, r *Root, dir string)
		fill    func(string) error
		opts    []Option
		wantErr error
	}{
		{"a real directory", func(t *testing.T, r *Root, dir string) {
			mustWrite(t, filepath.Join(dir, "site", "index.html"), "mine", 0o644)
		}, fillVersion(1), nil, fs.ErrExist},
		{"a regular file", func(t *testing.T, r *Root, dir string) {
			mustWrite(t, filepath.Join(dir, "site"), "mine", 0o644)
		}, fillVersion(1), nil, fs.ErrExist},
		{"a foreign symlink", func(t *testing.T, r *Root, dir string) {
			mustWrite(t, filepath.Join(dir, "elsewhere", "x"), "mine", 0o644)
			if err := os.Symlink("elsewhere", filepath.Join(dir, "site")); err != nil {
				t.Fatal(err)
			}
		}, fillVersion(1), nil, fs.ErrExist},
		{"fill fails", func(t *testing.T, r *Root, dir string) {
			if err := r.PublishDir(ctx, "site", fillVersion(1), 1); err != nil {
				t.Fatal(err)
			}
		}, func(string) error { return boom }, nil, boom},
		{"hook refuses", func(t *testing.T, r *Root, dir string) {
			if err := r.PublishDir(ctx, "site", fillVersion(1), 1); err != nil {
				t.Fatal(err)
			}
		}, fillVersion(2), []Option{PreCommit(func(context.Context, Change) error { return boom })}, boom},
		{"new parents, fill fails", func(t *testing.T, r *Root, dir string) {}, func(string) error { return boom }, nil, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := openRoot(t)
			tt.setup(t, r, dir)
			before := snapshotOpt(t, dir, false)
			name := "site"
			if strings.HasPrefix(tt.name, "new parents") {
				name = "new/parents/site"
			}
			err := r.PublishDir(ctx, name, tt.fill, 1, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("PublishDir: %v; want %v", err, tt.wantErr)
			}
			sameSnapshot(t, "after the refused PublishDir", before, snapshotOpt(t, dir, false))
		})
	}
}
