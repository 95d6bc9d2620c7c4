//go:build unix

package writer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

func TestPermExistingFileKeepsOwner(t *testing.T) {
	testrig.NeedRoot(t)
	r, dir := openRoot(t)
	p := filepath.Join(dir, "owned")
	mustWrite(t, p, "old", 0o640)
	const uid, gid = 4321, 8765
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(context.Background(), "owned", []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != uid || st.Gid != gid {
		t.Errorf("owner: got %d:%d; want %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after chown: got %v; want -rw-r-----", fi.Mode().Perm())
	}
}
