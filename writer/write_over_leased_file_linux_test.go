//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A write replaces a file on which another descriptor holds a write lease
// (fcntl F_SETLEASE, as Samba's kernel oplocks and the NFS server's
// delegations take): the open of the replaced file for its extended
// attributes is refused (EWOULDBLOCK, the lease being broken), and the write
// goes on as for a file this process may not open, keeping its mode.
func TestWriteOverLeasedFile(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := filepath.Join(dir, "f")
	mustWrite(t, dst, "old", 0o640)
	if err := os.Chmod(dst, 0o640); err != nil {
		t.Fatal(err)
	}
	holder, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := unix.FcntlInt(holder.Fd(), unix.F_SETLEASE, unix.F_WRLCK); err != nil {
		testrig.Unavailable(t, "write lease on "+dst+": "+err.Error())
	}
	defer unix.FcntlInt(holder.Fd(), unix.F_SETLEASE, unix.F_UNLCK) //nolint:errcheck // closed next

	if err := r.WriteFile(context.Background(), "f", []byte("new"), 0o644); err != nil {
		t.Fatalf("write over a leased file: %v", err)
	}
	if got, err := os.ReadFile(dst); err != nil || string(got) != "new" {
		t.Fatalf("content: got %q, %v; want %q", got, err, "new")
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o640 {
		t.Fatalf("mode: got %v; want %v", fi.Mode(), os.FileMode(0o640))
	}
}
