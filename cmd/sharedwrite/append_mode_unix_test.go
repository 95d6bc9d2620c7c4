//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// append --mode given explicitly creates the log with exactly that mode, as
// write --mode does, so that a replica with a narrow umask still makes a log
// the volume's other users can append to; without it the default 0644 is
// less the umask. An existing log keeps its mode.
func TestAppendModeGivenIsExact(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	v := newVolume(t, mode{name: "local"})
	for _, c := range []struct {
		name string
		args []string
		want os.FileMode
	}{
		{"given.log", []string{"--mode", "0664"}, 0o664},
		{"default.log", nil, 0o600},
	} {
		if r := v.run(t, "x\n", append([]string{"append", c.name}, c.args...)...); r.code != 0 {
			t.Fatalf("append %s %v: exit %d: %s", c.name, c.args, r.code, r.stderr)
		}
		if r := v.run(t, "y\n", "append", c.name, "--mode", "0600"); r.code != 0 {
			t.Fatalf("second append %s: exit %d: %s", c.name, r.code, r.stderr)
		}
		fi, err := os.Stat(filepath.Join(v.root, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s appended with %v under umask 077: mode %#o; want %#o", c.name, c.args, got, c.want)
		}
	}
}
