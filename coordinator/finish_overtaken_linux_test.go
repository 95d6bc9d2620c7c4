//go:build linux

package coordinator

import (
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An append batch whose pending record's fsync outlasts its lease is
// committed (the fsync is its commit point), but a holder on another mount of
// the volume, whose file locks the first mount does not share, may have
// taken the key meanwhile, promoted the batch and committed newer batches.
// The paused holder's committed record written after that would name its
// batch's shorter length while the log holds the newer records: the record's
// committed section must not go back to it.
func TestFinishOvertakenAppendKeepsNewerCommitted(t *testing.T) {
	r := needRedis(t)
	mnt := faultfs.Mount(t, faultfs.Options{})
	other := open(t, rds, mnt.Backing)
	// A short lease: its loss is known (the watchdog's refresh finds the
	// key gone) well before the stalled fsync returns.
	c := open(t, rds, mnt.Dir, WithLeaseTTL(2*time.Second))
	ctx := ctxT(t, time.Minute)

	a := c.Appender("log")
	t.Cleanup(func() { a.Close() })
	if err := a.Append(ctx, []byte("first\n")); err != nil {
		t.Fatal(err)
	}

	// The batch's first fsync of a lock file is that of its floor and
	// pending write; its lease ends there.
	got := stallLosingLease(t, ctx, r, mnt, c, "log", faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Count: 1, Delay: 4 * time.Second},
		func() error { return a.Append(ctx, []byte("paused\n")) })

	b := other.Appender("log")
	t.Cleanup(func() { b.Close() })
	if err := b.Append(ctx, []byte("newer\n")); err != nil {
		t.Fatalf("the newer holder's Append: %v", err)
	}
	newer := recordOf(t, other, "log").Committed
	<-got // bounded by ctx; its outcome is TestAppendOvertakenInRecordFsyncIsNotReportedUncommitted's
	mnt.Clear()

	want := int64(len("first\npaused\nnewer\n"))
	if got := readFile(t, filepath.Join(mnt.Backing, "log")); int64(len(got)) != want {
		t.Fatalf("log after the newer holder's append = %q; want %d bytes", got, want)
	}
	if newer.Length != want {
		t.Fatalf("the newer holder's committed length = %d; want %d", newer.Length, want)
	}
	cm := recordOf(t, other, "log").Committed
	if cm.Token != newer.Token || cm.Length != newer.Length {
		t.Errorf("committed record after the overtaken batch ended = token %d, length %d; want the newer holder's token %d, length %d",
			cm.Token, cm.Length, newer.Token, newer.Length)
	}
}

// A whole-file write whose directory fsync after the rename outlasts its
// lease: a holder on another mount of the volume takes the key meanwhile,
// promotes the renamed version (the file holds it) and writes a newer one.
// The paused holder's committed record written after that must not name its
// older content over the newer holder's.
func TestFinishOvertakenWriteKeepsNewerCommitted(t *testing.T) {
	r := needRedis(t)
	mnt := faultfs.Mount(t, faultfs.Options{})
	other := open(t, rds, mnt.Backing)
	c := open(t, rds, mnt.Dir, WithLeaseTTL(2*time.Second))
	ctx := ctxT(t, time.Minute)

	if err := c.WriteFile(ctx, "cfg", []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The write's directory fsync, after its rename; its lease ends there.
	got := stallLosingLease(t, ctx, r, mnt, c, "cfg", faultfs.Fault{Op: faultfs.OpFsyncDir, Count: 1, Delay: 4 * time.Second, Match: func(rel string) bool { return rel == "." }},
		func() error { return c.WriteFile(ctx, "cfg", []byte("paused"), 0o644) })

	if err := other.WriteFile(ctx, "cfg", []byte("newer"), 0o644); err != nil {
		t.Fatalf("the newer holder's WriteFile: %v", err)
	}
	newer := recordOf(t, other, "cfg").Committed
	<-got // bounded by ctx
	mnt.Clear()

	if got := readFile(t, filepath.Join(mnt.Backing, "cfg")); got != "newer" {
		t.Fatalf("file after the newer holder's write = %q; want %q", got, "newer")
	}
	if newer.SHA256 != sha256.Sum256([]byte("newer")) {
		t.Fatalf("the newer holder's committed record does not name its content (token %d)", newer.Token)
	}
	cm := recordOf(t, other, "cfg").Committed
	if cm.Token != newer.Token || cm.SHA256 != newer.SHA256 {
		t.Errorf("committed record after the overtaken write ended = token %d, sha256 %x; want the newer holder's token %d, sha256 %x",
			cm.Token, cm.SHA256[:4], newer.Token, newer.SHA256[:4])
	}
}
