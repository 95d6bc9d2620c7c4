//go:build unix

package main

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMkdirKilledKeepsExactModes: `mkdir --mode M` of a deep path under
// umask 022, SIGKILLed at a random moment once it has begun, then run again.
// Every directory must then have M (the last) or M with owner write and
// search (its parents). Before, a directory made but not yet chmodded when
// the kill came kept M less the umask, and the second run, finding it there,
// left it so: 0755 instead of 0777, and a parent at 0500 instead of 0700,
// under which a user other than root could not make the rest.
func TestMkdirKilledKeepsExactModes(t *testing.T) {
	var parts []string
	for i := 0; i < 100; i++ {
		parts = append(parts, fmt.Sprintf("d%d", i))
	}
	deep := strings.Join(parts, "/")
	for _, tc := range []struct {
		mode          string
		last, parents fs.FileMode
	}{{"0777", 0o777, 0o777}, {"0500", 0o500, 0o700}} {
		t.Run(tc.mode, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			cli := func(args ...string) *exec.Cmd {
				// The umask of the CLI: 022, whatever the test's.
				cmd := exec.Command("/bin/sh", append([]string{"-c", `umask 022; exec "$0" "$@"`, swBin}, v.args(args...)...)...)
				cmd.Env = baseEnv()
				return cmd
			}
			for iter := 0; iter < 8; iter++ {
				if err := os.RemoveAll(filepath.Join(v.root, "d0")); err != nil {
					t.Fatal(err)
				}
				cmd := cli("mkdir", deep, "--mode", tc.mode)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 5000; i++ {
					if _, err := os.Lstat(filepath.Join(v.root, "d0")); err == nil {
						break
					}
					time.Sleep(200 * time.Microsecond)
				}
				time.Sleep(time.Duration(rand.N(30000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				if out, err := cli("mkdir", deep, "--mode", tc.mode).CombinedOutput(); err != nil {
					t.Fatalf("mkdir again: %v: %s", err, out)
				}
				p := v.root
				for i, c := range parts {
					p = filepath.Join(p, c)
					fi, err := os.Lstat(p)
					if err != nil {
						t.Fatal(err)
					}
					want := tc.parents
					if i == len(parts)-1 {
						want = tc.last
					}
					if fi.Mode().Perm() != want {
						t.Fatalf("run %d: after a killed `mkdir --mode %s` and a second one, %s (depth %d) has mode %v; want %v",
							iter, tc.mode, c, i+1, fi.Mode().Perm(), want)
					}
				}
			}
		})
	}
}

// mkdir without --mode makes 0777 less the umask, as mkdir(1) and as the
// parents that write creates: under umask 002 a group-shared volume's new
// directories are group-writable (they were 0755 whatever the umask).
func TestMkdirDefaultModeFollowsTheUmask(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, tc := range []struct {
		umask string
		want  fs.FileMode
	}{{"002", 0o775}, {"022", 0o755}, {"077", 0o700}} {
		dir := "u" + tc.umask + "/sub"
		cmd := exec.Command("/bin/sh", append([]string{"-c", `umask ` + tc.umask + `; exec "$0" "$@"`, swBin}, v.args("mkdir", dir)...)...)
		cmd.Env = baseEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mkdir under umask %s: %v: %s", tc.umask, err, out)
		}
		for _, d := range []string{"u" + tc.umask, dir} {
			fi, err := os.Lstat(filepath.Join(v.root, d))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.want {
				t.Errorf("mkdir %s under umask %s: %s has mode %v; want %v", dir, tc.umask, d, fi.Mode().Perm(), tc.want)
			}
		}
	}
}
