//go:build linux

package writer

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// xattrsOf returns all the extended attributes of p (not following a
// symlink), its access ACL among them, by name.
func xattrsOf(t testing.TB, p string) map[string]string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("listxattr %s: %v", p, err)
	}
	got := map[string]string{}
	for name := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if name != "" {
			got[name] = string(testrig.Xattr(t, p, name))
		}
	}
	return got
}

// ownerOf returns the owner and group of p.
func ownerOf(t testing.TB, p string) [2]uint32 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint32{st.Uid, st.Gid}
}

// A target removed between Sync and Commit leaves nothing of itself on the
// new file: Sync gave the temp its owner, extended attributes and access
// ACL (or removed the ACL the temp inherited from the directory's default
// ACL), and the file committed is then a new file, with what a write where
// there is no target gives: the default ACL's and the perm's, the writer's
// owner. So too after a write that follows the Sync, and after a second Sync
// that finds the target gone.
func TestSyncThenTargetRemovedCommitsNewFile(t *testing.T) {
	testrig.NeedRoot(t) // to give the target another owner
	cases := []struct {
		name       string
		oldACL     []byte // the target's access ACL (nil: none)
		dirDefault []byte // the directory's default ACL (nil: none)
	}{
		{name: "target with an ACL", oldACL: namedACL(6)},
		{name: "target with an ACL, directory with a default ACL", oldACL: namedACL(6), dirDefault: defaultACL()},
		{name: "target without an ACL, directory with a default ACL", dirDefault: defaultACL()},
		{name: "target without an ACL"},
	}
	afters := []struct {
		name string
		do   func(t *testing.T, f *File) // after the target's removal
	}{
		{"Commit", func(t *testing.T, f *File) {}},
		{"Write+Commit", func(t *testing.T, f *File) {
			if _, err := f.Write([]byte("+")); err != nil {
				t.Fatal(err)
			}
		}},
		{"Sync+Commit", func(t *testing.T, f *File) {
			if err := f.Sync(); err != nil {
				t.Fatalf("second Sync: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		for _, after := range afters {
			t.Run(tc.name+"/"+after.name, func(t *testing.T) {
				r, dir := openRoot(t)
				ctx := context.Background()
				in := mkdirs(t, dir, "in")
				target := filepath.Join(in, "f")
				mustWrite(t, target, "old", 0o640)
				if err := os.Chown(target, 1000, 1000); err != nil {
					t.Fatal(err)
				}
				if tc.oldACL != nil {
					testrig.SetXattr(t, target, "system.posix_acl_access", tc.oldACL)
				}
				testrig.SetXattr(t, target, "user.origin", []byte("spool-7"))
				if tc.dirDefault != nil {
					testrig.SetXattr(t, in, "system.posix_acl_default", tc.dirDefault)
				}
				// What a write where there is no target gives.
				if err := r.WriteFile(ctx, "in/ref", []byte("new"), 0o644); err != nil {
					t.Fatal(err)
				}
				ref := filepath.Join(in, "ref")

				f, err := r.Create(ctx, "in/f", 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write([]byte("new")); err != nil {
					t.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					t.Fatalf("Sync: %v", err)
				}
				if err := os.Remove(target); err != nil {
					t.Fatal(err)
				}
				after.do(t, f)
				if err := f.Commit(ctx); err != nil {
					t.Fatalf("Commit: %v", err)
				}

				if got := readString(t, target); !strings.HasPrefix(got, "new") {
					t.Errorf("content %q; want the new content", got)
				}
				if got, want := xattrsOf(t, target), xattrsOf(t, ref); !maps.Equal(got, want) {
					t.Errorf("extended attributes: got %q; want %q (those of a new file)", got, want)
				}
				if got, want := statMode(t, target), statMode(t, ref); got != want {
					t.Errorf("mode: got %v; want %v (a new file's)", got, want)
				}
				if got, want := ownerOf(t, target), ownerOf(t, ref); got != want {
					t.Errorf("owner: got %v; want %v (a new file's)", got, want)
				}
			})
		}
	}
}

// A synced temp commits with exactly the extended attributes and ACL the
// target has at Commit: none of those Sync copied from the target stays
// when the target is replaced by a file that lacks them, or loses them,
// before Commit.
func TestSyncThenTargetChangedCommitsItsAttrs(t *testing.T) {
	cases := []struct {
		name   string
		root   bool                                   // the attributes need root (trusted.*, security.*)
		first  map[string]string                      // the target's attributes at Sync
		change func(t *testing.T, dir, target string) // between Sync and Commit
	}{
		{
			name: "replaced by a file without some attributes",
			first: map[string]string{
				"user.origin": "spool-7", "user.shared": "first",
				"system.posix_acl_access": string(namedACL(6)),
			},
			change: func(t *testing.T, dir, target string) {
				other := filepath.Join(dir, "g")
				mustWrite(t, other, "other", 0o640)
				testrig.SetXattr(t, other, "user.shared", []byte("second"))
				if err := os.Rename(other, target); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:  "replaced by a file without trusted.* and security.* attributes",
			root:  true,
			first: map[string]string{"trusted.origin": "spool-7", "security.origin": "spool-7", "user.shared": "first"},
			change: func(t *testing.T, dir, target string) {
				other := filepath.Join(dir, "g")
				mustWrite(t, other, "other", 0o640)
				testrig.SetXattr(t, other, "user.shared", []byte("second"))
				if err := os.Rename(other, target); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:  "same file, an attribute removed",
			first: map[string]string{"user.origin": "spool-7", "user.shared": "first"},
			change: func(t *testing.T, dir, target string) {
				if err := unix.Removexattr(target, "user.origin"); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:  "same file, its ACL removed",
			first: map[string]string{"user.origin": "spool-7", "system.posix_acl_access": string(namedACL(6))},
			change: func(t *testing.T, dir, target string) {
				if err := unix.Removexattr(target, "system.posix_acl_access"); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	afters := []struct {
		name string
		do   func(t *testing.T, f *File) // after the change
	}{
		{"Commit", func(t *testing.T, f *File) {}},
		{"Write+Commit", func(t *testing.T, f *File) {
			if _, err := f.Write([]byte("+")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		for _, after := range afters {
			t.Run(tc.name+"/"+after.name, func(t *testing.T) {
				if tc.root {
					testrig.NeedRoot(t)
				}
				r, dir := openRoot(t)
				ctx := context.Background()
				target := filepath.Join(dir, "f")
				mustWrite(t, target, "old", 0o640)
				for name, v := range tc.first {
					testrig.SetXattr(t, target, name, []byte(v))
				}
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
				tc.change(t, dir, target)
				want, wantMode := xattrsOf(t, target), statMode(t, target)
				after.do(t, f)
				if err := f.Commit(ctx); err != nil {
					t.Fatalf("Commit: %v", err)
				}
				if got := readString(t, target); !strings.HasPrefix(got, "new") {
					t.Errorf("content %q; want the new content", got)
				}
				if got := xattrsOf(t, target); !maps.Equal(got, want) {
					t.Errorf("extended attributes: got %q; want %q (the target's at Commit)", got, want)
				}
				if got := statMode(t, target); got != wantMode {
					t.Errorf("mode: got %v; want %v (the target's at Commit)", got, wantMode)
				}
			})
		}
	}
}

// statMode returns the mode of p.
func statMode(t testing.TB, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: gone", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// leaseForWrite takes a write lease on p (fcntl F_SETLEASE, as Samba's
// kernel oplocks and the NFS server's delegations take) through a read-only
// descriptor, released on cleanup, and checks that another open of p is
// then refused (EWOULDBLOCK under O_NONBLOCK: the lease is being broken).
func leaseForWrite(t *testing.T, p string) {
	t.Helper()
	holder, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := unix.FcntlInt(holder.Fd(), unix.F_SETLEASE, unix.F_WRLCK); err != nil {
		testrig.Unavailable(t, "write lease on "+p+": "+err.Error())
	}
	t.Cleanup(func() { unix.FcntlInt(holder.Fd(), unix.F_SETLEASE, unix.F_UNLCK) }) //nolint:errcheck // closed next
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("open of the leased %s: %v; want EWOULDBLOCK", p, err)
	}
}

// A target replaced after Sync by a file the commit may not open for its
// extended attributes (another descriptor holds a write lease on it) gets
// none of the attributes Sync copied from the earlier target, nor its ACL:
// the new file has what a write over that file without a Sync gives, its
// mode and the attributes a new file gets (the directory's default ACL's).
// So too when a second Sync finds that file.
func TestSyncThenTargetUnopenableCommitsNoEarlierAttrs(t *testing.T) {
	cases := []struct {
		name       string
		dirDefault []byte // the directory's default ACL (nil: none)
	}{
		{name: "directory without a default ACL"},
		{name: "directory with a default ACL", dirDefault: defaultACL()},
	}
	afters := []struct {
		name string
		do   func(t *testing.T, f *File) // after the target is replaced
	}{
		{"Commit", func(t *testing.T, f *File) {}},
		{"Sync+Commit", func(t *testing.T, f *File) {
			if err := f.Sync(); err != nil {
				t.Fatalf("second Sync: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		for _, after := range afters {
			t.Run(tc.name+"/"+after.name, func(t *testing.T) {
				r, dir := openRoot(t)
				ctx := context.Background()
				in := mkdirs(t, dir, "in")
				if tc.dirDefault != nil {
					testrig.SetXattr(t, in, "system.posix_acl_default", tc.dirDefault)
				}
				target := filepath.Join(in, "f")
				mustWrite(t, target, "old", 0o640)
				testrig.SetXattr(t, target, "system.posix_acl_access", namedACL(6))
				testrig.SetXattr(t, target, "user.origin", []byte("spool-7"))
				// The file that replaces the target, and a like one that a
				// write without a Sync replaces.
				second := func(name string) string {
					p := filepath.Join(in, name)
					mustWrite(t, p, "second", 0o604)
					if err := os.Chmod(p, 0o604); err != nil {
						t.Fatal(err)
					}
					testrig.SetXattr(t, p, "user.shared", []byte("second"))
					return p
				}
				ref := second("ref")
				leaseForWrite(t, ref)
				if err := r.WriteFile(ctx, "in/ref", []byte("new"), 0o644); err != nil {
					t.Fatal(err)
				}

				f, err := r.Create(ctx, "in/f", 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write([]byte("new")); err != nil {
					t.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					t.Fatalf("Sync: %v", err)
				}
				if err := os.Rename(second("g"), target); err != nil {
					t.Fatal(err)
				}
				leaseForWrite(t, target)
				after.do(t, f)
				if err := f.Commit(ctx); err != nil {
					t.Fatalf("Commit: %v", err)
				}

				if got := readString(t, target); got != "new" {
					t.Errorf("content %q; want %q", got, "new")
				}
				if got, want := xattrsOf(t, target), xattrsOf(t, ref); !maps.Equal(got, want) {
					t.Errorf("extended attributes: got %q; want %q (a write's without Sync)", got, want)
				}
				if got, want := statMode(t, target), statMode(t, ref); got != want {
					t.Errorf("mode: got %v; want %v (a write's without Sync)", got, want)
				}
			})
		}
	}
}
