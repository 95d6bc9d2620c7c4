//go:build linux

package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// oldRedisVolume makes dir a Redis-mode volume as init-volume made it before
// it created .sharedwrite/locks: the volume id and the config, nothing else.
func oldRedisVolume(t *testing.T, dir string) {
	t.Helper()
	mustWrite(t, filepath.Join(dir, volumeIDFile), newVolumeID()+"\n")
	mustWrite(t, filepath.Join(dir, configFile), "mode="+ModeRedis+"\n")
}

// A read-only replica opens a Redis-mode volume that an older init-volume
// left without .sharedwrite/locks and no writer has opened since. With no
// lock file, a name reads as a name with no record does: a file put there
// reads as it is, a missing name as ENOENT. Once a writer has made the locks
// directory and written, the same replica reads and watches what it wrote.
// Nothing is created through the read-only mount.
func TestReadOnlyOldRedisVolumeWithoutLocksDir(t *testing.T) {
	ctx := ctxT(t, 2*time.Minute)
	rw, ro := t.TempDir(), t.TempDir()
	oldRedisVolume(t, rw)
	mustWrite(t, filepath.Join(rw, "plain"), "as put there")
	testrig.ReadOnlyBind(t, rw, ro)
	r := openReadOnlyView(t, rds, ro)

	if got, err := r.ReadFile(ctx, "plain"); err != nil || string(got) != "as put there" {
		t.Errorf("ReadFile of a file with no lock file, on a read-only mount: got %q, %v; want %q", got, err, "as put there")
	}
	if _, err := r.ReadFile(ctx, "cfg"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a name never written, on a read-only mount: got %v; want fs.ErrNotExist", err)
	}
	if err := r.WriteFile(ctx, "cfg", []byte("refused"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("WriteFile on a read-only mount: got %v; want an error wrapping EROFS", err)
	}
	if _, err := os.Lstat(filepath.Join(rw, locking.LocksDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s after reads through the read-only mount: %v; want it still missing", locking.LocksDir, err)
	}

	// Polled only once a minute: the change event must deliver v1, and the
	// record must be found in the locks directory made after Open.
	wa := startWatch(t, r, "cfg", WatchInterval(time.Minute))
	// A writer opens the volume as it is (no init-volume again): it makes
	// the locks directory.
	cl := needRedis(t).Client(t)
	w, err := Open(ctx, rw, WithRedis(cl))
	if err != nil {
		t.Fatalf("Open through the read-write mount: %v", err)
	}
	defer w.Close()
	if err := w.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := wa.waitFor(t, 20*time.Second, "v1, written through the read-write mount", func(ch Change) bool { return string(ch.Data) == "v1" })
	if got.Token == 0 {
		t.Errorf("watch on a read-only mount delivered v1 with token 0: the writer's lock record was not read")
	}
	if got, err := r.ReadFile(ctx, "cfg"); err != nil || string(got) != "v1" {
		t.Errorf("ReadFile on a read-only mount after a writer wrote: got %q, %v; want \"v1\"", got, err)
	}
	if err := r.WriteFile(ctx, "cfg", []byte("refused"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("WriteFile on a read-only mount once the locks directory exists: got %v; want an error wrapping EROFS", err)
	}
}
