//go:build linux

package writer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// hasNamedUser reports whether the POSIX ACL acl (as posixACL encodes it)
// has an entry for the user uid.
func hasNamedUser(acl []byte, uid uint32) bool {
	for e := acl[min(4, len(acl)):]; len(e) >= 8; e = e[8:] {
		if binary.LittleEndian.Uint16(e) == testrig.ACLUser && binary.LittleEndian.Uint32(e[4:]) == uid {
			return true
		}
	}
	return false
}

// A file replaced by a write keeps its permissions as they are: its access
// ACL and its extended attributes, not only its mode and owner. Without the
// ACL the new file's group bits (the ACL's mask) would give the owning group
// the access that only a named user had; and the temp must not keep the ACL
// it inherits from the directory's default ACL when the replaced file has
// none. A new file keeps what the default ACL gives it; a forced Mode sets
// the permissions and leaves the ACL as the mode made it (extended
// attributes are kept all the same).
func TestWriteKeepsACLAndXattrs(t *testing.T) {
	// The owner and user 1000 may read and write; the owning group and
	// others may not (the mode shows the mask: 0660).
	named := namedACL(6)
	// New files in the directory: user 1000 may read them.
	inherited := defaultACL()
	cases := []struct {
		name       string
		exists     bool   // the target exists (0640, user.origin set)
		oldACL     []byte // the target's access ACL (nil: none)
		dirDefault []byte // the directory's default ACL (nil: none)
		opts       []Option
		wantMode   fs.FileMode // 0: not checked
		wantACL    []byte      // the access ACL wanted (nil: none)
		wantNamed  bool        // instead of wantACL: one with an entry for user 1000
	}{
		{name: "file with a named-user ACL", exists: true, oldACL: named, wantMode: 0o660, wantACL: named},
		{name: "file without an ACL in a directory with a default ACL", exists: true, dirDefault: inherited, wantMode: 0o640},
		{name: "new file in a directory with a default ACL", dirDefault: inherited, wantNamed: true},
		{name: "forced Mode on a file with a named-user ACL", exists: true, oldACL: named, opts: []Option{Mode(0o640)}, wantMode: 0o640},
	}
	ways := []struct {
		name  string
		write func(t *testing.T, r *Root, name string, data []byte, opts []Option) error
	}{
		{"WriteFile", func(t *testing.T, r *Root, name string, data []byte, opts []Option) error {
			return r.WriteFile(context.Background(), name, data, 0o644, opts...)
		}},
		{"Create+Commit", func(t *testing.T, r *Root, name string, data []byte, opts []Option) error {
			f, err := r.Create(context.Background(), name, 0o644, opts...)
			if err != nil {
				return err
			}
			if _, err := f.Write(data); err != nil {
				_ = f.Abort()
				return err
			}
			return f.Commit(context.Background())
		}},
		{"Create+Sync+Commit", func(t *testing.T, r *Root, name string, data []byte, opts []Option) error {
			f, err := r.Create(context.Background(), name, 0o644, opts...)
			if err != nil {
				return err
			}
			if _, err := f.Write(data); err != nil {
				_ = f.Abort()
				return err
			}
			if err := f.Sync(); err != nil {
				_ = f.Abort()
				return err
			}
			return f.Commit(context.Background())
		}},
		{"TempDir on another filesystem", func(t *testing.T, r *Root, name string, data []byte, opts []Option) error {
			testrig.BindMount(t, testrig.Tmpfs(t, "4m"), mkdirs(t, r.Dir(), "spool"))
			return r.WriteFile(context.Background(), name, data, 0o644, append(opts, TempDir("spool"))...)
		}},
	}
	for _, tc := range cases {
		for _, way := range ways {
			t.Run(tc.name+"/"+way.name, func(t *testing.T) {
				rootDir := t.TempDir()
				r, err := Open(rootDir)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				in := mkdirs(t, rootDir, "in")
				dst := filepath.Join(in, "f")
				if tc.exists {
					mustWrite(t, dst, "old", 0o640)
					if err := os.Chmod(dst, 0o640); err != nil {
						t.Fatal(err)
					}
					if tc.oldACL != nil {
						testrig.SetXattr(t, dst, "system.posix_acl_access", tc.oldACL)
					}
					testrig.SetXattr(t, dst, "user.origin", []byte("spool-7"))
				}

				if tc.dirDefault != nil {
					// Set after the target was made: it has only the ACL
					// the case gives it.
					testrig.SetXattr(t, in, "system.posix_acl_default", tc.dirDefault)
				}

				if err := way.write(t, r, "in/f", []byte("new"), tc.opts); err != nil {
					t.Fatalf("write: %v", err)
				}
				if got, err := os.ReadFile(dst); err != nil || string(got) != "new" {
					t.Fatalf("content: got %q, %v; want %q", got, err, "new")
				}
				fi, err := os.Stat(dst)
				if err != nil {
					t.Fatal(err)
				}
				if tc.wantMode != 0 && fi.Mode() != tc.wantMode {
					t.Errorf("mode: got %v; want %v", fi.Mode(), tc.wantMode)
				}
				got := testrig.Xattr(t, dst, "system.posix_acl_access")
				switch {
				case tc.wantNamed:
					if !hasNamedUser(got, 1000) {
						t.Errorf("access ACL: got %x; want the one inherited from the directory, with user 1000", got)
					}
				case !bytes.Equal(got, tc.wantACL):
					t.Errorf("access ACL: got %x; want %x", got, tc.wantACL)
				}
				if tc.exists {
					if got := testrig.Xattr(t, dst, "user.origin"); string(got) != "spool-7" {
						t.Errorf("user.origin: got %q; want %q (the replaced file's)", got, "spool-7")
					}
				}
			})
		}
	}
}

// defaultACL returns a directory's default ACL under which new files get
// an access ACL that lets user 1000 read them.
func defaultACL() []byte {
	return testrig.PosixACL(
		[3]uint32{testrig.ACLUserObj, 7, testrig.ACLNoID},
		[3]uint32{testrig.ACLUser, 4, 1000},
		[3]uint32{testrig.ACLGroupObj, 5, testrig.ACLNoID},
		[3]uint32{testrig.ACLMask, 7, testrig.ACLNoID},
		[3]uint32{testrig.ACLOther, 5, testrig.ACLNoID},
	)
}

// namedACL returns an access ACL that lets the owner read and write, user
// 1000 have perm, and the owning group and others nothing (mask rw: the
// mode shows 0660).
func namedACL(perm uint32) []byte {
	return testrig.PosixACL(
		[3]uint32{testrig.ACLUserObj, 6, testrig.ACLNoID},
		[3]uint32{testrig.ACLUser, perm, 1000},
		[3]uint32{testrig.ACLGroupObj, 0, testrig.ACLNoID},
		[3]uint32{testrig.ACLMask, 6, testrig.ACLNoID},
		[3]uint32{testrig.ACLOther, 0, testrig.ACLNoID},
	)
}

// A synced temp commits with the ACL the target has at Commit: an ACL changed
// between Sync and Commit, with the mode (its mask) unchanged, is the one the
// new content gets.
func TestSyncThenCommitKeepsCurrentACL(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	target := filepath.Join(dir, "f")
	mustWrite(t, target, "old", 0o640)
	testrig.SetXattr(t, target, "system.posix_acl_access", namedACL(6))
	f, err := r.Create(ctx, "f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// User 1000 may now only read it; the mask, so the mode, stays.
	if err := unix.Setxattr(target, "system.posix_acl_access", namedACL(4), 0); err != nil {
		t.Fatal(err)
	}
	want := testrig.Xattr(t, target, "system.posix_acl_access")
	if err := f.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("content %q; want %q", got, "new")
	}
	if got := testrig.Xattr(t, target, "system.posix_acl_access"); !bytes.Equal(got, want) {
		t.Errorf("access ACL: got %x; want %x (the target's at Commit, not at Sync)", got, want)
	}
}

// A file renamed over the target between WriteFile's stat of it and the
// commit is the file replaced: the new content gets its mode and ACL, not
// the mode of the file there before with no ACL at all.
func TestWriteFileTargetReplacedBeforeCommit(t *testing.T) {
	r, dir := openRoot(t)
	target := filepath.Join(dir, "f")
	mustWrite(t, target, "old", 0o640)
	other := filepath.Join(dir, "g")
	mustWrite(t, other, "other", 0o640)
	testrig.SetXattr(t, other, "system.posix_acl_access", namedACL(6))
	want := testrig.Xattr(t, other, "system.posix_acl_access")
	replaced := false
	swap := Observe(func(ev Event) {
		if ev.Step == "write" && !replaced {
			replaced = true
			if err := os.Rename(other, target); err != nil {
				t.Errorf("rename %s over the target: %v", other, err)
			}
		}
	})
	if err := r.WriteFile(context.Background(), "f", []byte("new"), 0o644, swap); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if !replaced {
		t.Fatal("no write event: the target was not replaced before the commit")
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("content %q; want %q", got, "new")
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o660 {
		t.Errorf("mode: got %v; want -rw-rw---- (the replaced file's)", fi.Mode())
	}
	if got := testrig.Xattr(t, target, "system.posix_acl_access"); !bytes.Equal(got, want) {
		t.Errorf("access ACL: got %x; want %x (the replaced file's)", got, want)
	}
}
