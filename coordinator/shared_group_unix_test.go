//go:build unix

package coordinator

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// On a volume several users share through a group, what one replica makes
// another must be able to use: the directories an Appender creates follow
// the umask (0777 less it, as a write's), not a fixed 0755; and a
// transaction's intent is readable and writable by the group (0660 whatever
// the umask, as the lock files), so that another user's replica can complete
// or discard a transaction whose process died.
func TestWhatReplicasShareFollowsTheGroup(t *testing.T) {
	old := syscall.Umask(0o002)
	t.Cleanup(func() { syscall.Umask(old) })
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("logs/app.log")
	if err := a.Append(ctx, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	fi, err := os.Stat(filepath.Join(root, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o775 {
		t.Errorf("directory an Appender created under umask 002: mode %04o; want 0775", got)
	}

	syscall.Umask(0o077)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := txIntent{ID: newIntentID(), Created: time.Now(), Host: "h", PID: 1,
		Entries: []txEntry{{Target: "a", Temp: ".a.tmp", Token: 1, LeaseID: "h/1/ff", SHA256: "00", Size: 1}}}
	if err := writeIntent(r, in); err != nil {
		t.Fatal(err)
	}
	fi, err = os.Stat(filepath.Join(root, intentPath(in.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & fs.ModePerm; got != 0o660 {
		t.Errorf("intent written under umask 077: mode %04o; want 0660", got)
	}
}
