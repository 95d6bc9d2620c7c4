//go:build linux

package writer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An in-place rewrite whose write and restore both fail leaves its marker
// for the next operation. The marker records the target's st_dev, which for
// NFS, FUSE, sshfs, overlay and tmpfs is an anonymous device number handed
// out at mount time: after the volume is mounted again the same file has
// another st_dev. The next operation on the remounted volume (here ReadFile)
// still restores the target from the backup, and ReadFile returns the old
// version, never the torn bytes.
//
// The second mount of the same backing directory stands for the volume
// mounted again (same inode numbers, another st_dev).
func TestInPlaceRestoredAfterRemount(t *testing.T) {
	a := faultfs.Mount(t, faultfs.Options{})
	ra, err := Open(a.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ra.Close() })
	const size = 3 << 20
	oldData, newData := make([]byte, size), make([]byte, size)
	rand.Read(oldData)
	rand.Read(newData)
	if err := os.WriteFile(a.Backed("f"), oldData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Backed("newcontent"), newData, 0o600); err != nil {
		t.Fatal(err)
	}
	// The volume starts failing writes to f part way through the rewrite
	// (and the restore): the rewrite leaves its marker for the next operation.
	a.Set(faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Glob: "f", Skip: 2})
	ctx := context.Background()
	committed, err := ra.rewriteInPlace(ctx, "f", "newcontent", sha256.Sum256(newData), size, newConfig(nil))
	if committed || err == nil {
		t.Fatalf("rewrite: committed=%v err=%v; want a failure", committed, err)
	}
	torn, _ := os.ReadFile(a.Backed("f"))
	if bytes.Equal(torn, oldData) || bytes.Equal(torn, newData) {
		t.Fatalf("setup: f holds a whole version; want it torn")
	}
	m, _ := inPlaceNames("f")
	if _, err := os.Lstat(a.Backed(m)); err != nil {
		t.Fatalf("setup: marker: %v; want it left for the next operation", err)
	}

	// The volume, mounted again; the fault is gone.
	b := faultfs.Mount(t, faultfs.Options{Backing: a.Backing})
	rb, err := Open(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rb.Close() })
	fa, _ := os.Stat(filepath.Join(a.Dir, "f"))
	fb, _ := os.Stat(filepath.Join(b.Dir, "f"))
	da, ia := fileID(fa)
	db, ib := fileID(fb)
	if da == db || ia != ib {
		t.Fatalf("setup: f through the two mounts: dev %#x ino %d and dev %#x ino %d; want the same inode on another device", da, ia, db, ib)
	}

	got, err := rb.ReadFile(ctx, "f")
	if err != nil || !bytes.Equal(got, oldData) {
		t.Errorf("ReadFile after the remount: %d bytes (old version: %v), %v; want the old version", len(got), bytes.Equal(got, oldData), err)
	}
	if cur, _ := os.ReadFile(a.Backed("f")); !bytes.Equal(cur, oldData) {
		t.Errorf("f after ReadFile on the remounted volume: not the old version; want it restored from the backup")
	}
	noInPlaceLeftovers(t, a.Backing, "f")
}

// A target with the marker's inode on another device is settled by its
// content: the old or the new version is kept (marker and backup removed);
// anything else is restored from the backup when it could be a torn rewrite
// (size between the two versions', modified after the marker was written),
// and is otherwise some other file whose inode number matches by chance,
// left alone with the marker. A reader that may not settle gets the version
// settling would leave, or the file as it is when the marker is not its own.
func TestInPlaceRemountedInodeSettledByContent(t *testing.T) {
	oldData, newData := []byte("old content, 24 bytes.."), []byte("new content, 20 b...")
	tests := []struct {
		name       string
		content    string
		beforeMark bool // the file was last modified an hour before the marker
		want       string
		settled    bool // marker and backup removed
	}{
		{"torn", "new content, 20 b...s..", false, string(oldData), true},
		{"torn, new size", "new content, 20 \x00\x00\x00\x00", false, string(oldData), true}, // truncated to the new size, data not all written
		{"old version", string(oldData), false, string(oldData), true},
		{"new version", string(newData), false, string(newData), true},
		{"another file, larger", "another file, more than 24 bytes long", false, "another file, more than 24 bytes long", false},
		{"another file, smaller", "tiny", false, "tiny", false},
		{"another file, older than the marker", "another file, 22 bytes", true, "another file, 22 bytes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := openRoot(t)
			target := filepath.Join(dir, "f")
			mustWrite(t, target, string(oldData), 0o644)
			fi, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			dev, ino := fileID(fi)
			mRel, bRel := inPlaceNames("f")
			mustWrite(t, filepath.Join(dir, bRel), string(oldData), 0o600)
			in := inPlaceIntent{Target: "f", Dev: dev + 1, Ino: ino, // recorded through an earlier mount
				OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData),
				NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}
			mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)
			if err := os.WriteFile(target, []byte(tt.content), 0o644); err != nil { // same inode
				t.Fatal(err)
			}
			if tt.beforeMark {
				old := time.Now().Add(-time.Hour)
				if err := os.Chtimes(target, old, old); err != nil {
					t.Fatal(err)
				}
			}

			view, ok, err := r.inPlaceView("f", 0)
			switch {
			case err != nil:
				t.Errorf("inPlaceView: %v", err)
			case ok != tt.settled || ok && string(view.Data) != tt.want:
				t.Errorf("inPlaceView: %q, ok=%v; want %q, ok=%v", view.Data, ok, tt.want, tt.settled)
			}

			if err := restoreInPlace(context.Background(), r, "f"); err != nil {
				t.Fatalf("restoreInPlace: %v", err)
			}
			if got := readString(t, target); got != tt.want {
				t.Errorf("f: got %q; want %q", got, tt.want)
			}
			for _, p := range []string{mRel, bRel} {
				_, err := os.Lstat(filepath.Join(dir, p))
				if kept := err == nil; kept == tt.settled {
					t.Errorf("%s: %v; want kept=%v", p, err, !tt.settled)
				}
			}
		})
	}
}
