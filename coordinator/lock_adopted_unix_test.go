//go:build unix

package coordinator

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestLockNestedAndAdopted(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			err := c.Lock(ctx, "f", func(ctx context.Context, info LeaseInfo) error {
				if info.Key != "f" || info.Token == 0 || info.LeaseID == "" {
					t.Errorf("LeaseInfo = %+v; want key f, a token and a lease id", info)
				}
				// Same key, fn's context: reuses the held lease (no deadlock).
				if err := c.WriteFile(ctx, "f", []byte("nested"), 0o644); err != nil {
					return err
				}
				// A second coordinator adopting the lease and lock, as a child
				// process given SHAREDWRITE_LEASE and the inherited descriptor.
				fd, err := syscall.Dup(int(info.Fd))
				if err != nil {
					return err
				}
				c2, err := openAdopter(ctx, t, m, root, info, fd)
				if err != nil {
					return err
				}
				defer c2.Close()
				short, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				return c2.Update(short, "f", func(old []byte, _ bool) ([]byte, error) { return append(old, "+adopted"...), nil })
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(root, "f")); got != "nested+adopted" {
				t.Fatalf("f = %q; want nested+adopted", got)
			}
			// The lease was released: another caller takes it at once.
			short, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := c.WriteFile(short, "f", []byte("after"), 0o644); err != nil {
				t.Fatalf("WriteFile after Lock: %v", err)
			}
		})
	}
}
