//go:build linux

package writer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// events collects the steps of one call.
type events struct{ steps []Event }

func (e *events) opt() Option { return Observe(func(ev Event) { e.steps = append(e.steps, ev) }) }

func (e *events) count(step string) int {
	n := 0
	for _, ev := range e.steps {
		if ev.Step == step {
			n++
		}
	}
	return n
}

// fillInodes creates empty files in dir until the filesystem has no inode
// left and returns them.
func fillInodes(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for i := 0; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d", i))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, syscall.ENOSPC) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		files = append(files, p)
		if i > 10000 {
			t.Fatal("tmpfs never ran out of inodes")
		}
	}
}

func TestMkdirAllRollbackOnInjectedFailure(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) (dir, mk string) // root dir, name to create
		opts    func() []Option
		timeout time.Duration
		wantErr []error
		created bool // the call created directories before failing
	}{
		{
			// A tmpfs with 8 inodes: the root and "pre" take two; the call
			// creates directories until none is left, then fails.
			name: "ENOSPC (no inodes) deep in the path",
			setup: func(t *testing.T) (string, string) {
				dir := testrig.Tmpfs(t, "1m,nr_inodes=8")
				if err := os.Mkdir(filepath.Join(dir, "pre"), 0o755); err != nil {
					t.Fatal(err)
				}
				return dir, "pre/a/b/c/d/e/f/g/h/i/j"
			},
			wantErr: []error{syscall.ENOSPC},
			created: true,
		},
		{
			name: "ENOSPC with RetryNoSpace until the deadline",
			setup: func(t *testing.T) (string, string) {
				dir := testrig.Tmpfs(t, "1m,nr_inodes=8")
				return dir, "a/b/c/d/e/f/g/h/i/j"
			},
			opts:    func() []Option { return []Option{RetryNoSpace()} },
			timeout: 300 * time.Millisecond,
			wantErr: []error{syscall.ENOSPC, context.DeadlineExceeded},
			created: true,
		},
		{
			name: "EROFS (read-only bind mount)",
			setup: func(t *testing.T) (string, string) {
				dir := t.TempDir()
				ro := filepath.Join(dir, "ro")
				if err := os.Mkdir(ro, 0o755); err != nil {
					t.Fatal(err)
				}
				testrig.BindMount(t, ro, ro)
				if err := unix.Mount("", ro, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
					testrig.Unavailable(t, "remount read-only: "+err.Error())
				}
				return dir, "ro/a/b"
			},
			wantErr: []error{syscall.EROFS},
		},
		{
			name: "ENOTDIR (a file deep in the path)",
			setup: func(t *testing.T) (string, string) {
				dir := t.TempDir()
				mustWrite(t, filepath.Join(dir, "x", "y", "file"), "data", 0o644)
				return dir, "x/y/file/z"
			},
			wantErr: []error{syscall.ENOTDIR},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testrig.NeedRoot(t)
			dir, mk := tt.setup(t)
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			before := snapshotOpt(t, dir, false)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			var ev events
			opts := []Option{ev.opt()}
			if tt.opts != nil {
				opts = append(opts, tt.opts()...)
			}
			err = r.MkdirAll(ctx, mk, 0o755, opts...)
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("MkdirAll(%q): %v; want %v", mk, err, want)
				}
			}
			sameSnapshot(t, "after the failed MkdirAll", before, snapshotOpt(t, dir, false))
			if got := ev.count("rollback") > 0; got != tt.created {
				t.Errorf("rolled back directories: %v; want %v", got, tt.created)
			}
			if tt.opts == nil && ev.count("retry") > 0 {
				t.Errorf("%d retries of a permanent error; want none", ev.count("retry"))
			}
			if err != nil && !strings.Contains(err.Error(), "mkdir \"") && !strings.Contains(err.Error(), "resolve \"") {
				t.Errorf("error %q does not name the step and the path", err)
			}
		})
	}
}

// RetryNoSpace waits for space: once a file is removed, the call succeeds.
func TestMkdirAllRetryNoSpaceSucceedsWhenFreed(t *testing.T) {
	dir := testrig.Tmpfs(t, "1m,nr_inodes=16")
	files := fillInodes(t, dir)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Space is freed once MkdirAll has met ENOSPC and retries.
	var ev events
	var freed sync.Once
	free := Observe(func(e Event) {
		if e.Step == "retry" {
			freed.Do(func() { os.Remove(files[0]) })
		}
	})
	if err := r.MkdirAll(ctx, "late", 0o755, RetryNoSpace(), ev.opt(), free); err != nil {
		t.Fatalf("MkdirAll with RetryNoSpace after space was freed: %v; want nil", err)
	}
	if ev.count("retry") == 0 {
		t.Errorf("no retry event; want ENOSPC retried")
	}
	// Without the option ENOSPC is final.
	if err := r.MkdirAll(ctx, "late/more", 0o755); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("MkdirAll on a full tmpfs: %v; want ENOSPC", err)
	}
}

// Several processes create overlapping trees while directories vanish under
// them (as when another call rolls back): no call fails.
func TestMkdirAllConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { rmdirLoop(dir, 99, stop); close(done) }()
	var children []*opsChild
	for i := range 3 {
		children = append(children, startOpsChild(t, "mkdir", dir, strconv.Itoa(i), "150"))
	}
	for i, c := range children {
		out, err := c.wait()
		if err != nil || !strings.Contains(out, "done") {
			t.Errorf("child %d: exit %v, output %q; want done", i, err, out)
		}
	}
	close(stop)
	<-done
}
