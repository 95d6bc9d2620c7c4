//go:build linux

package coordinator

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// logACL is an access ACL that lets the owner read and write, user 1001
// read, and the owning group and others nothing (mask r: the mode shows
// 0640).
func logACL() []byte {
	return testrig.PosixACL(
		[3]uint32{testrig.ACLUserObj, 6, testrig.ACLNoID},
		[3]uint32{testrig.ACLUser, 4, 1001},
		[3]uint32{testrig.ACLGroupObj, 0, testrig.ACLNoID},
		[3]uint32{testrig.ACLMask, 4, testrig.ACLNoID},
		[3]uint32{testrig.ACLOther, 0, testrig.ACLNoID},
	)
}

// A rotation keeps the log's permissions as they are, on every file it
// makes: its mode, owner, access ACL and extended attributes. A rename
// rotation's rotated name is the old file itself, and its new live file
// replaces that file; a copytruncate rotation's copy, and a rotated file's
// compressed copy, are new files that must get them from the file they copy.
// Without the ACL such a copy's group bits (the ACL's mask) give the owning
// group the access that only user 1001 had.
func TestRotateKeepsACLAndXattrs(t *testing.T) {
	testrig.NeedRoot(t)
	cases := []struct {
		name    string
		opts    []LogOption
		tempDir bool // the coordinator's temps on another filesystem
	}{
		{name: "rename"},
		{name: "rename with gzip", opts: []LogOption{Gzip()}},
		{name: "copytruncate", opts: []LogOption{CopyTruncate()}},
		{name: "copytruncate with gzip", opts: []LogOption{CopyTruncate(), Gzip()}},
		{name: "copytruncate with temps on another filesystem", opts: []LogOption{CopyTruncate()}, tempDir: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var opts []Option
			if tc.tempDir {
				spool := filepath.Join(root, "spool")
				if err := os.Mkdir(spool, 0o755); err != nil {
					t.Fatal(err)
				}
				testrig.BindMount(t, testrig.Tmpfs(t, "4m"), spool)
				opts = append(opts, WithTempDir("spool"))
			}
			c := open(t, local, root, opts...)
			ctx := ctxT(t, 30*time.Second)
			live := filepath.Join(root, "app.log")
			mustWrite(t, live, "a 1\nb 2\n")
			if err := os.Chown(live, 1000, 1000); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(live, 0o640); err != nil {
				t.Fatal(err)
			}
			testrig.SetXattr(t, live, "system.posix_acl_access", logACL())
			testrig.SetXattr(t, live, "user.origin", []byte("web-3"))
			wantACL := testrig.Xattr(t, live, "system.posix_acl_access")

			r, err := c.Rotate(ctx, "app.log", tc.opts...)
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if r.Name == "" {
				t.Fatal("Rotate rotated nothing")
			}
			for _, name := range []string{"app.log", r.Name} {
				p := filepath.Join(root, name)
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != 0o640 {
					t.Errorf("%s: mode %v; want -rw-r----- (the log's)", name, fi.Mode())
				}
				st := fi.Sys().(*syscall.Stat_t)
				if st.Uid != 1000 || st.Gid != 1000 {
					t.Errorf("%s: owner %d:%d; want 1000:1000 (the log's)", name, st.Uid, st.Gid)
				}
				if got := testrig.Xattr(t, p, "system.posix_acl_access"); !bytes.Equal(got, wantACL) {
					t.Errorf("%s: access ACL %x; want %x (the log's)", name, got, wantACL)
				}
				if got := testrig.Xattr(t, p, "user.origin"); string(got) != "web-3" {
					t.Errorf("%s: user.origin %q; want %q (the log's)", name, got, "web-3")
				}
			}
			if got := readFile(t, live); got != "" {
				t.Errorf("app.log holds %q after the rotation; want it empty", got)
			}
			if fi, err := os.Stat(filepath.Join(root, r.Name)); err != nil || fi.Size() == 0 {
				t.Errorf("rotated %s: %v, %v; want it to hold the log", r.Name, fi, err)
			}
		})
	}
}
