//go:build unix

package coordinator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A transaction over more files than the process may hold open at once
// (each key holds its lock file and its temp until the commit) fails before
// its commit point with a clear error, and changes nothing: no file written,
// no intent, no temp left behind. Where exactly the descriptors run out
// depends on the limit, so several limits are tried.
func TestTxOutOfDescriptors(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	names := make([]string, 700)
	for i := range names {
		names[i] = fmt.Sprintf("m/f%04d", i)
	}
	for cur := uint64(1024); cur < 1032; cur++ {
		t.Run(fmt.Sprint(cur), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, time.Minute)
			low := lim
			low.Cur = cur
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
				t.Fatal(err)
			}
			err := c.Tx(ctx, namedTxFiles("new", names...))
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
			if err == nil {
				t.Skip("the transaction fit in the descriptor limit; nothing to check")
			}
			if !strings.Contains(err.Error(), "too many open files") {
				t.Errorf("Tx = %v; want the errno (EMFILE) named", err)
			}
			if n := txIntents(t, root); n != 0 {
				t.Errorf("%d intents left; want 0", n)
			}
			// m, which the transaction created, goes with its temps.
			if _, serr := os.Lstat(filepath.Join(root, "m")); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("Tx = %v\nleft m (%v) with temps %q; want it removed (nothing changed)", err, serr, tempsIn(t, filepath.Join(root, "m")))
			}
			for _, name := range names {
				if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
					t.Fatalf("%s exists after the failed Tx; want nothing written", name)
				}
			}
		})
	}
}
