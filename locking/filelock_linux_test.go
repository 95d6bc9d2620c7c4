//go:build linux

package locking

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestFileLockOtherUIDSameGroup: a process running as another uid in the
// root's group opens, locks and writes the record of a lock file this
// process created (0660, group from the setgid directories).
func TestFileLockOtherUIDSameGroup(t *testing.T) {
	testrig.NeedRoot(t)
	const uid, gid = 65534, 65534
	base := t.TempDir()
	// The helper binary and the root must be reachable by the other uid.
	for p := base; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "locking.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "root")
	if err := os.Mkdir(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	d, err := OpenLockDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fl := openLocked(t, d, "shared.cfg")
	fi, _ := fl.File().Stat()
	if st := fi.Sys().(*syscall.Stat_t); st.Gid != gid || st.Uid != 0 {
		t.Fatalf("lock file owner %d:%d; want 0:%d (the root's group)", st.Uid, st.Gid, gid)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), helperEnv+"=flock-holder", "ROOT="+dir, "KEY=shared.cfg", "TRY=1", "WRITE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}}
	cmd.Stderr = os.Stderr
	t.Cleanup(func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
	p := &helperProc{cmd: cmd, lines: make(chan string, 10)}
	out, _ := cmd.StdoutPipe()
	in, _ := cmd.StdinPipe()
	p.in = in
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := out.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				p.lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	p.expect(t, "busy", 10*time.Second)
	if err := fl.Unlock(); err != nil {
		t.Fatal(err)
	}
	p.expect(t, "locked", 10*time.Second)
	p.send(t, "done")
	p.expect(t, "unlocked", 10*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper as uid %d: %v", uid, err)
	}
	rec, err := fl.ReadRecord()
	if err != nil || rec.Committed.LeaseID != "child" {
		t.Fatalf("record written by uid %d: %+v %v", uid, rec, err)
	}
}
