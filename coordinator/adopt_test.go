//go:build unix

package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A process given SHAREDWRITE_LEASE adopts a lease and a lock file descriptor
// it did not take itself. A descriptor that is not the key's lock file, or one
// that does not hold its lock, must not let it write without the lock (nor let
// it write a lock record into some other file).
func TestAdoptRefusesForgedDescriptor(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "f", []byte("v1"), 0o644); err != nil {
				t.Fatal(err)
			}
			other := filepath.Join(t.TempDir(), "precious")
			mustWrite(t, other, "precious data")

			err := c.Lock(ctx, "f", func(ctx context.Context, info LeaseInfo) error {
				cases := []struct {
					name string
					open func() (*os.File, error)
				}{
					{"unrelated file", func() (*os.File, error) { return os.OpenFile(other, os.O_RDWR, 0) }},
					{"lock file not locked by this descriptor", func() (*os.File, error) {
						return os.OpenFile(filepath.Join(root, locking.LockPath("f")), os.O_RDWR, 0)
					}},
				}
				for _, tc := range cases {
					f, err := tc.open()
					if err != nil {
						return err
					}
					fd, err := syscall.Dup(int(f.Fd()))
					f.Close()
					if err != nil {
						return err
					}
					c2, err := openAdopter(ctx, t, m, root, info, fd)
					if err != nil {
						return err
					}
					// Not fn's context: a separate process has only the environment.
					short, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					werr := c2.WriteFile(short, "f", []byte("forged"), 0o644)
					cancel()
					c2.Close()
					if werr == nil {
						t.Errorf("%s: WriteFile with an adopted forged descriptor = nil; want an error", tc.name)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(root, "f")); got != "v1" {
				t.Errorf("f = %q; want v1 (no forged write)", got)
			}
			if got := readFile(t, other); got != "precious data" {
				t.Errorf("unrelated file = %q; want it untouched", got)
			}
		})
	}
}

// openAdopter opens a coordinator on root that adopts info's lease through
// fd, a duplicate of its lock descriptor, as a child process given
// SHAREDWRITE_LEASE and the inherited descriptor does. fd is closed when Open
// fails, and by the coordinator's Close otherwise.
func openAdopter(ctx context.Context, t *testing.T, m mode, root string, info LeaseInfo, fd int) (*Coordinator, error) {
	t.Helper()
	opts := []Option{WithAdoptedLease(info.Key, info.LeaseID, info.Token, uintptr(fd)), WithAdoptedTurn(info.Turn)}
	if m == rds {
		opts = append(opts, WithRedisURL(needRedis(t).URL()))
	}
	c, err := Open(ctx, root, opts...)
	if err != nil {
		syscall.Close(fd)
	}
	return c, err
}

// adopterOf is openAdopter with a duplicate of info's descriptor, closed by
// the test's cleanup: one more process adopting info's lease.
func adopterOf(ctx context.Context, t *testing.T, m mode, root string, info LeaseInfo) *Coordinator {
	t.Helper()
	fd, err := syscall.Dup(int(info.Fd))
	if err != nil {
		t.Fatal(err)
	}
	a, err := openAdopter(ctx, t, m, root, info, fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// noTurnFiles checks that no turn file is left under root.
func noTurnFiles(t *testing.T, root string) {
	t.Helper()
	turns, _ := filepath.Glob(filepath.Join(root, ".sharedwrite", "locks", "*.turn"))
	if len(turns) != 0 {
		t.Errorf("turn files left: %v", turns)
	}
}
