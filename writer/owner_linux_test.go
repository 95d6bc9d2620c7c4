//go:build linux

package writer

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

const ownerChildEnv = "SHAREDWRITE_WRITER_OWNER_CHILD"

// TestOwnerChild is the child of TestOwnerNotPermitted: it replaces the file
// named by ownerChildEnv as an unprivileged user.
func TestOwnerChild(t *testing.T) {
	p := os.Getenv(ownerChildEnv)
	if p == "" {
		t.Skip("helper process for TestOwnerNotPermitted")
	}
	r, err := Open(filepath.Dir(p))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if err := r.WriteFile(context.Background(), filepath.Base(p), []byte("by nobody"), 0o600); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// TestOwnerNotPermitted: a writer that may not give the file to its owner
// (not root, not the owner) still replaces it; the mode is kept and the file
// becomes the writer's.
func TestOwnerNotPermitted(t *testing.T) {
	testrig.NeedRoot(t)
	const nobody = 65534
	base := t.TempDir()
	// The child runs as nobody: it needs a copy of the test binary it can
	// execute and a directory it can write.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "writer.test")
	copyFile(t, os.Args[0], bin, 0o755)
	dir := filepath.Join(base, "shared")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "f")
	mustWrite(t, p, "old", 0o664)
	if err := os.Chown(p, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o664); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestOwnerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), ownerChildEnv+"="+p)
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid %d: %v\n%s", nobody, err, out)
	}
	if got := readString(t, p); got != "by nobody" {
		t.Errorf("content: got %q; want %q", got, "by nobody")
	}
	fi, _ := os.Stat(p)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != nobody || st.Gid != nobody {
		t.Errorf("owner: got %d:%d; want the writer's %d:%d (chown not permitted)", st.Uid, st.Gid, nobody, nobody)
	}
	if fi.Mode().Perm() != 0o664 {
		t.Errorf("mode: got %v; want -rw-rw-r-- kept", fi.Mode().Perm())
	}
	noTemps(t, dir)
}

func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
