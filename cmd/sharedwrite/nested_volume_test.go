package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockNestedOnOtherVolume: inside `lock k -- CMD` on volume A, a
// sharedwrite command in CMD on another volume B (another --root) that uses
// the same name k works on B's k with B's own lease and lock: the parent's
// lease is adopted only on the volume it is for (SHAREDWRITE_LEASE names it).
// An environment without the volume field (an older sharedwrite's) is still
// adopted by key, so the nested command on A itself does not deadlock.
func TestLockNestedOnOtherVolume(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			a, b := newVolume(t, m), newVolume(t, m)
			inner := shellCommand(append([]string{swBin}, b.args("--timeout", "10s", "write", "k", "--from", "/dev/null")...))
			r := a.run(t, "", "--timeout", "30s", "lock", "k", "--", "sh", "-c", inner)
			if r.code != 0 {
				t.Errorf("lock k on volume A running `write k` on volume B: exit %d; want 0; stderr: %s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(b.root, "k")); err != nil {
				t.Errorf("volume B's k was not written: %v", err)
			}
			if _, err := os.Stat(filepath.Join(a.root, "k")); err == nil {
				t.Errorf("volume A's k exists; want only B's written")
			}

			// Without the volume field: adopted by key, as before it existed.
			inner = `SHAREDWRITE_LEASE=$(printf '%s' "$SHAREDWRITE_LEASE" | sed 's/"volume":"[0-9a-f]*",//')
case $SHAREDWRITE_LEASE in *volume*) echo "volume field still there: $SHAREDWRITE_LEASE" >&2; exit 9;; esac
echo old | ` + shellCommand(append([]string{swBin}, a.args("--timeout", "10s", "write", "k")...))
			r = a.run(t, "", "--timeout", "30s", "lock", "k", "--", "sh", "-c", inner)
			if r.code != 0 {
				t.Errorf("lock k running `write k` on the same volume with a SHAREDWRITE_LEASE without volume: exit %d; want 0; stderr: %s", r.code, r.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(a.root, "k")); err != nil || string(b) != "old\n" {
				t.Errorf("volume A's k: %q, %v; want %q", b, err, "old\n")
			}
		})
	}
}

// shellCommand quotes args into one sh command line.
func shellCommand(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
