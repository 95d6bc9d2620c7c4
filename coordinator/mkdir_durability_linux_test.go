//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestMkdirAllAcceptUnconfirmedDurability: on a volume that refuses the
// directory fsync, MkdirAll reports ErrDurabilityUnconfirmed (exit 7), and
// succeeds with a warning when the coordinator accepts unconfirmed
// durability; the directories exist either way.
func TestMkdirAllAcceptUnconfirmedDurability(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{Locks: true})
	plain := open(t, local, f.Dir)
	accepting := open(t, local, f.Dir, AcceptUnconfirmedDurability())
	f.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
	ctx := ctxT(t, time.Minute)

	err := plain.MkdirAll(ctx, "a/b", 0o755)
	if !errors.Is(err, ErrDurabilityUnconfirmed) || ExitCode(err) != ExitUnconfirmed {
		t.Errorf("MkdirAll without AcceptUnconfirmedDurability: got %v; want ErrDurabilityUnconfirmed", err)
	}
	if err := accepting.MkdirAll(ctx, "c/d", 0o755); err != nil {
		t.Errorf("MkdirAll with AcceptUnconfirmedDurability: got %v; want nil", err)
	}
	if f.Injected(faultfs.OpFsyncDir) == 0 {
		t.Errorf("no directory fsync reached the filesystem")
	}
	for _, d := range []string{"a/b", "c/d"} {
		if fi, err := os.Stat(filepath.Join(f.Dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v; want a directory", d, err)
		}
	}
}
