//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A mkdir that happens but reports a retryable error (ETIMEDOUT, as on a soft
// NFS mount whose reply was lost) is retried; the retry's EEXIST on a
// directory counts as created by this call, so when a later step fails the
// rollback removes it too (it is empty), and the tree is left as it was. On
// success the directory is among the created ones, so its parent is fsynced.
func TestMkdirAllRollsBackDirWhoseMkdirReplyWasLost(t *testing.T) {
	for _, tt := range []struct {
		name    string
		failC   bool
		wantErr error
	}{
		{"later step fails", true, syscall.EACCES},
		{"succeeds", false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ffs := faultfs.Mount(t, faultfs.Options{})
			r, err := Open(ffs.Dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			faults := []faultfs.Fault{{Op: faultfs.OpMkdir, Errno: syscall.ETIMEDOUT, Count: 1, Glob: "a/b", Match: func(rel string) bool {
				// Done, then the reply is an error.
				if err := os.Mkdir(ffs.Backed(rel), 0o755); err != nil {
					t.Errorf("mkdir %s behind the mount: %v", rel, err)
				}
				return true
			}}}
			if tt.failC {
				faults = append(faults, faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.EACCES, Glob: "a/b/c"})
			}
			ffs.Set(faults...)
			var ev events
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = r.MkdirAll(ctx, "a/b/c", 0o755, ev.opt())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("MkdirAll: %v; want %v", err, tt.wantErr)
			}
			if n := ffs.Injected(faultfs.OpMkdir); n < 1 {
				t.Fatalf("ETIMEDOUT injected %d times; want at least once", n)
			}
			if tt.failC {
				ents, _ := os.ReadDir(ffs.Backing)
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				if len(names) != 0 {
					t.Errorf("after the failed MkdirAll the root holds %q; want it empty as before (a and a/b were created by this call)", names)
				}
				if got := ev.count("rollback"); got != 2 {
					t.Errorf("rollback events: %d; want 2 (a/b, then a)", got)
				}
				return
			}
			if fi, err := os.Stat(ffs.Backed("a/b/c")); err != nil || !fi.IsDir() {
				t.Fatalf("a/b/c: %v; want a directory", err)
			}
			synced := map[string]bool{}
			for _, e := range ev.steps {
				if e.Step == "dirsync" && e.Err == nil {
					synced[e.Path] = true
				}
			}
			if !synced["a"] {
				t.Errorf("directories fsynced: %v; want a among them (it holds b, made by this call)", synced)
			}
		})
	}
}
