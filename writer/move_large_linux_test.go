//go:build linux

package writer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestMoveLarge moves a file several write-behind steps long, with a partial
// last block, through both copy paths: the three-stage buffered copy (another
// filesystem) and copy_file_range (another mount of the same one), with and
// without a PreCommit hook. dst must hold exactly src's bytes, the hook must
// see their sha256 and size, and src and its intent must be gone. Just before
// the commit the intent names the complete copy: by its sha256 for a hook,
// otherwise by the copy's inode and mtime (not hashed: the copy runs at
// cp's speed).
func TestMoveLarge(t *testing.T) {
	const size = 3*writeBehindStep + 5*moveBlockSize + 12345
	tests := []struct {
		name string
		rig  func(t *testing.T) (rootDir, srcDir string)
	}{
		{"disk to tmpfs", func(t *testing.T) (string, string) {
			return testrig.Tmpfs(t, "256m"), t.TempDir()
		}},
		{"tmpfs to disk", func(t *testing.T) (string, string) {
			return t.TempDir(), testrig.Tmpfs(t, "256m")
		}},
		{"two bind-mounted views of one filesystem", func(t *testing.T) (string, string) {
			base := t.TempDir()
			rootDir, _ := mkdirs(t, base, "root"), mkdirs(t, base, "spool")
			view := t.TempDir()
			testrig.BindMount(t, base, view)
			return rootDir, filepath.Join(view, "spool")
		}},
	}
	for _, tt := range tests {
		for _, hooked := range []bool{true, false} {
			t.Run(tt.name+map[bool]string{true: ", hook", false: ", no hook"}[hooked], func(t *testing.T) {
				rootDir, srcDir := tt.rig(t)
				r, err := Open(rootDir)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				src := filepath.Join(srcDir, "large.bin")
				sum := randomFile(t, src, size, 0o600)
				fi, _ := os.Stat(src)
				var ev events
				var changes []Change
				var atCommit moveIntent
				var intentErr error
				opts := []Option{ev.opt(), Observe(func(e Event) {
					if e.Step == "rename" && e.Path == "large.bin" {
						intentErr = readIntent(src, &atCommit)
					}
				})}
				if hooked {
					opts = append(opts, PreCommit(func(ctx context.Context, c Change) error { changes = append(changes, c); return nil }))
				}
				if err := r.Move(context.Background(), src, "large.bin", opts...); err != nil {
					t.Fatalf("Move: %v", err)
				}
				checkMoved(t, rootDir, src, "large.bin", sum, 0o600, fi.ModTime())
				if ev.count("exdev-fallback") == 0 {
					t.Errorf("no exdev-fallback event; want the copy path")
				}
				if intentErr != nil {
					t.Fatalf("intent at the commit: %v", intentErr)
				}
				dfi, err := os.Stat(filepath.Join(rootDir, "large.bin"))
				if err != nil {
					t.Fatal(err)
				}
				_, ino := fileID(dfi)
				mtime := dfi.ModTime().UnixNano()
				if hooked {
					if len(changes) == 0 {
						t.Fatal("PreCommit hook not called")
					}
					if last := changes[len(changes)-1]; last.SHA256 != sum || last.Size != size {
						t.Errorf("PreCommit change: got sha256 %x size %d; want %x %d", last.SHA256, last.Size, sum, int64(size))
					}
					if atCommit.SHA256 != hex.EncodeToString(sum[:]) {
						t.Errorf("intent at the commit: sha256 %q; want %x", atCommit.SHA256, sum)
					}
				} else if atCommit.SHA256 != "" || atCommit.CopyIno != ino || atCommit.CopyMtimeNs != mtime || mtime != fi.ModTime().UnixNano() {
					t.Errorf("intent at the commit: sha256 %q, copy inode %d mtime %d; want no sha256 and dst's inode %d and mtime %d, src's %d", atCommit.SHA256, atCommit.CopyIno, atCommit.CopyMtimeNs, ino, mtime, fi.ModTime().UnixNano())
				}
				if _, err := os.Lstat(moveIntentPath(src)); !os.IsNotExist(err) {
					t.Errorf("intent after Move: %v; want it gone", err)
				}
			})
		}
	}
}

// readIntent reads the move intent beside src into in.
func readIntent(src string, in *moveIntent) error {
	b, err := os.ReadFile(moveIntentPath(src))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, in)
}

// TestDropBehind: the copied pages of a clean source leave the page cache;
// those of a source with dirty pages stay (dropping them would first write
// them to the disk).
func TestDropBehind(t *testing.T) {
	const size = 2 * writeBehindStep
	stat := func(t *testing.T, f *os.File) unix.Cachestat_t {
		t.Helper()
		var st unix.Cachestat_t
		rng := unix.CachestatRange{Off: 0, Len: size}
		if err := unix.Cachestat(uint(f.Fd()), &rng, &st, 0); err != nil {
			testrig.Unavailable(t, "cachestat(2): "+err.Error())
		}
		return st
	}
	for _, dirty := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "dirty"}[dirty]
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "src.bin")
			randomFile(t, p, size, 0o600)
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !dirty {
				if err := f.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			// A control file, as dirty, that dropBehind never sees: if the
			// kernel's background write-back cleans its pages meanwhile, it
			// may have cleaned the source's too, and the test cannot tell.
			var control *os.File
			if dirty {
				cp := filepath.Join(t.TempDir(), "control.bin")
				randomFile(t, cp, size, 0o600)
				if control, err = os.Open(cp); err != nil {
					t.Fatal(err)
				}
				defer control.Close()
			}
			before := stat(t, f)
			if dirty && before.Dirty == 0 {
				t.Skip("the pages were written back before the test could look (a concurrent sync)")
			}
			if before.Cache == 0 {
				t.Fatalf("page cache holds none of the file just written; the test cannot tell")
			}
			var controlBefore unix.Cachestat_t
			if dirty {
				controlBefore = stat(t, control)
			}
			db := newDropBehind(f)
			db.read(size)
			after := stat(t, f)
			if dirty && stat(t, control).Dirty < controlBefore.Dirty {
				t.Skip("the kernel wrote dirty pages back while dropBehind ran (a control file's too)")
			}
			switch {
			case dirty && (after.Cache != before.Cache || after.Dirty != before.Dirty):
				t.Errorf("cached, dirty pages after dropBehind of a dirty file: got %d, %d; want %d, %d (kept, not written back)",
					after.Cache, after.Dirty, before.Cache, before.Dirty)
			case !dirty && after.Cache != 0:
				t.Errorf("cached pages after dropBehind of a clean file: got %d; want 0", after.Cache)
			}
		})
	}
}
