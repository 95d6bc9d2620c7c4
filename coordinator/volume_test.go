package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

func TestVolumeIdentity(t *testing.T) {
	r := needRedis(t)
	ctx := ctxT(t, 30*time.Second)
	cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	t.Cleanup(func() { cl.Close() })

	t.Run("local mode publishes the id on first use", func(t *testing.T) {
		root := t.TempDir()
		c := open(t, local, root)
		id := strings.TrimSpace(readFile(t, filepath.Join(root, volumeIDFile)))
		if id != c.VolumeID() || len(id) != 32 {
			t.Fatalf("volume-id file %q, VolumeID %q; want the same 32 hex digits", id, c.VolumeID())
		}
		if got := readFile(t, filepath.Join(root, configFile)); got != "mode=local\n" {
			t.Fatalf("config = %q; want mode=local", got)
		}
		fi, err := os.Lstat(filepath.Join(root, volumeIDFile))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != metaFilePerm {
			t.Fatalf("volume-id: %v, %v; want a regular file with mode %v", fi.Mode(), err, fs0644)
		}
		c2 := open(t, local, root)
		if c2.VolumeID() != id {
			t.Fatalf("second Open: id %q; want %q", c2.VolumeID(), id)
		}
	})
	t.Run("redis mode needs init-volume", func(t *testing.T) {
		root := t.TempDir()
		_, err := Open(ctx, root, WithRedis(cl))
		if !errors.Is(err, ErrVolumeNotInitialised) || ExitCode(err) != ExitBadPath {
			t.Fatalf("Open = %v (exit %d); want ErrVolumeNotInitialised, exit 5", err, ExitCode(err))
		}
		if _, err := os.Stat(filepath.Join(root, volumeIDFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("volume-id after refused Open: %v; want none", err)
		}
		id, err := InitVolume(ctx, root, cl)
		if err != nil {
			t.Fatal(err)
		}
		id2, err := InitVolume(ctx, root, cl)
		if err != nil || id2 != id {
			t.Fatalf("second InitVolume = %q, %v; want %q (idempotent)", id2, err, id)
		}
		c, err := Open(ctx, root, WithRedis(cl))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("mode mismatch refuses", func(t *testing.T) {
		lroot, rroot := t.TempDir(), t.TempDir()
		open(t, local, lroot)
		open(t, rds, rroot)
		for _, tc := range []struct {
			name string
			open func() error
		}{
			{"redis on local volume", func() error { _, err := Open(ctx, lroot, WithRedis(cl)); return err }},
			{"init on local volume", func() error { _, err := InitVolume(ctx, lroot, cl); return err }},
			{"local on redis volume", func() error { _, err := Open(ctx, rroot); return err }},
		} {
			err := tc.open()
			if !errors.Is(err, ErrModeMismatch) || ExitCode(err) != ExitBadPath {
				t.Errorf("%s: %v (exit %d); want ErrModeMismatch, exit 5", tc.name, err, ExitCode(err))
			}
		}
	})
	t.Run("planted symlink is refused", func(t *testing.T) {
		root := t.TempDir()
		outside := filepath.Join(t.TempDir(), "id")
		mustWrite(t, outside, "0123456789abcdef0123456789abcdef\n")
		os.MkdirAll(filepath.Join(root, metaDir), 0o770)
		if err := os.Symlink(outside, filepath.Join(root, volumeIDFile)); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, root)
		if !errors.Is(err, ErrBadVolume) {
			t.Fatalf("Open = %v; want ErrBadVolume", err)
		}
	})
}

var fs0644 = os.FileMode(0o644)

func TestKeysAreCanonical(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := os.MkdirAll(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, "alias/f", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The record is kept under the canonical key: an Update through the other
	// name verifies against it (no outside-edit warning) and sees the content.
	if err := c.Update(ctx, "real/f", func(old []byte, _ bool) ([]byte, error) { return append(old, '2'), nil }); err != nil {
		t.Fatal(err)
	}
	rec, err := c.peekRecord("real/f")
	if err != nil || rec.Committed.Token != 2 || rec.Committed.Size != 2 {
		t.Fatalf("record of real/f = %+v, %v; want committed token 2, size 2", rec.Committed, err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "alias/../../x"} {
		err := c.WriteFile(ctx, bad, []byte("x"), 0o644)
		if !errors.Is(err, ErrOutsideRoot) || ExitCode(err) != ExitBadPath {
			t.Errorf("WriteFile(%q) = %v (exit %d); want ErrOutsideRoot, exit 5", bad, err, ExitCode(err))
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{&locking.HolderError{Key: "k", PID: 7, Err: locking.ErrNotObtained}, 3},
		{wrap("queue", "k", ErrQueueFull), 3},
		{wrap("lease", "k", context.DeadlineExceeded), 3},
		{wrap("commit", "k", locking.ErrFenced), 4},
		{wrap("commit", "k", fmt.Errorf("%w: 1ms left", locking.ErrLeaseLost)), 4},
		{wrap("resolve", "k", writer.ErrOutsideRoot), 5},
		{wrap("config", "k", ErrModeMismatch), 5},
		{wrap("resolve", "k", syscall.ELOOP), 5},
		{wrap("resolve", "k", syscall.ENAMETOOLONG), 5},
		{wrap("mkdir", "k", syscall.ENOTDIR), 5},
		{wrap("resolve", ".sharedwrite/config", ErrMetadataName), 5},
		{fmt.Errorf("%w (%w)", wrap("move", "k", writer.ErrNotRegular), locking.ErrNotHeld), 5},
		{errors.Join(wrap("move", "k", writer.ErrNotRegular), wrap("release", "k", locking.ErrLeaseLost)), 5},
		{wrap("lease", "k", &locking.HolderError{Key: "k", Err: locking.ErrUnavailable}), 6},
		{wrap("lease", "k", syscall.ECONNREFUSED), 6},
		{fmt.Errorf("commit: %w", writer.ErrDurabilityUnconfirmed), 7},
		{&CommandFailedError{Path: "k", Status: 3, Err: errors.New("exit status 3")}, 8},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d; want %d", tc.err, got, tc.want)
		}
	}
}
