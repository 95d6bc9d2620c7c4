//go:build linux

package coordinator

import (
	"crypto/sha256"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/locking"
)

// The committed record is written only once the directory fsync has made
// the rename durable (DESIGN.md, the write path): whatever reaches the disk,
// committed names a version whose rename survives. The lock file as it
// stands while the directory fsync is still running (held on a FUSE mount)
// is put back with the file as a crash at that moment can leave it (the
// rename lost: the old content). The next holder finds the last durable
// version (v2) as the committed one: strict mode reads it, and it is not
// taken for an edit made outside sharedwrite.
func TestCommittedAfterDirSync(t *testing.T) {
	const held = 3 * time.Second
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
			// Another view of the volume, on a second mount of it: its
			// lookups do not wait for the first mount's directory fsync,
			// which holds that directory's inode lock.
			ffs2 := faultfs.Mount(t, faultfs.Options{Locks: true, Backing: ffs.Backing})
			c1, c2 := open(t, m, ffs.Dir), open(t, m, ffs2.Dir)
			ctx := ctxT(t, 2*time.Minute)
			for _, s := range []string{"v1", "v2"} {
				if err := c1.WriteFile(ctx, "f", []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Delay: held, Count: 1})
			setOverlap(c1, true)
			done := make(chan error, 1)
			go func() { done <- c1.WriteFile(ctx, "f", []byte("v3"), 0o644) }()
			start := time.Now()
			for {
				if b, _ := os.ReadFile(ffs.Backed("f")); string(b) == "v3" {
					break
				}
				if time.Since(start) > held {
					t.Fatalf("f not renamed within %v", held)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(held / 3) // what a write during the fsync would do, done
			lockFile := ffs.Backed(locking.LockPath("f"))
			snap, err := os.ReadFile(lockFile)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Fatalf("WriteFile returned (%v) before the snapshot: the directory fsync was not held", err)
			default:
			}
			rec := recordOf(t, c2, "f")
			t.Logf("record during the directory fsync: committed v3 %v (token %d), pending v3 %v (token %d)",
				rec.Committed.SHA256 == sha256.Sum256([]byte("v3")), rec.Committed.Token, rec.Pending.SHA256 == sha256.Sum256([]byte("v3")), rec.Pending.Token)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// The crash: the rename did not reach the disk, the record did.
			if err := os.WriteFile(ffs.Backed("f"), []byte("v2"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(lockFile, snap, 0o660); err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if m == rds {
				cl := redis.NewClient(&redis.Options{Addr: needRedis(t).Addr(), DisableIdentity: true})
				t.Cleanup(func() { cl.Close() })
				opts = append(opts, WithRedis(cl))
			}
			c3, err := Open(ctx, ffs.Backing, append(opts, Strict(), WithStaleWindow(300*time.Millisecond))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c3.Close()
			if got, err := c3.ReadFile(ctx, "f"); err != nil || string(got) != "v2" {
				t.Errorf("strict ReadFile after a crash before the directory fsync = %q, %v; want v2 (the last durable version)", got, err)
			}
			logs := &testrig.SyncBuffer{}
			c4, err := Open(ctx, ffs.Backing, append(opts, WithStaleWindow(300*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c4.Close()
			if got, err := c4.ReadFile(ctx, "f"); err != nil || string(got) != "v2" || strings.Contains(logs.String(), "outside sharedwrite") {
				t.Errorf("ReadFile after the crash = %q, %v; want v2 as the committed version, not adopted as an outside edit; logs:\n%s", got, err, logs.String())
			}
		})
	}
}

// The lock record is rewritten in place, so its flush before the rename is a
// data-only one (fdatasync): its mtime needs no journal commit of its own.
// The first, in the lock file just made, is a full fsync (the file's mode).
func TestRecordFlushIsDataOnly(t *testing.T) {
	for _, overlap := range []bool{false, true} {
		t.Run(map[bool]string{false: "after the temp", true: "beside the temp"}[overlap], func(t *testing.T) {
			ffs := faultfs.Mount(t, faultfs.Options{Locks: true})
			c := open(t, local, ffs.Dir)
			setOverlap(c, overlap)
			ctx := ctxT(t, time.Minute)
			for i, s := range []string{"v1", "v2", "v3"} {
				before := ffs.Count(faultfs.OpFsync)
				if err := c.WriteFile(ctx, "f", []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				if n := ffs.DataSyncs(locking.LockPath("f")); n != i {
					t.Fatalf("after write %d: %d data-only flushes of the lock file; want %d", i+1, n, i)
				}
				if ffs.Count(faultfs.OpFsync) == before {
					t.Fatalf("write %d flushed nothing", i+1)
				}
			}
		})
	}
}
