package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockNestedInLockAdopts: `lock k -- CMD` run inside another `lock k --
// CMD` adopts the outer lease, and a command inside the inner CMD adopts it
// too: the nested calls finish at once, they never wait for a turn the inner
// lock holds while it waits for its own CMD.
func TestLockNestedInLockAdopts(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := counterVolume(t, m)
			redisArgs := v.redisArg()
			script := `sw=$0 root=$1 r=$2
exec "$sw" --root "$root" $r --timeout 5s lock k -- "$sw" --root "$root" $r --timeout 5s update k -- sh -c 'read n; echo $((n+1))'`
			res := v.run(t, "", "--timeout", "10s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs)
			if res.code != 0 {
				t.Fatalf("lock k -- lock k -- update k: exit %d after %v; stderr: %s", res.code, res.took.Round(time.Millisecond), res.stderr)
			}
			b, err := os.ReadFile(filepath.Join(v.root, "k"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(b)); got != "1" {
				t.Errorf("k = %q; want 1", got)
			}
		})
	}
}

// TestLockAdopterKilledDuringTurn: an adopter killed (SIGKILL) while it has
// the lease's turn does not stop the next one: the kernel releases its flock,
// the next adopter takes the turn at once and removes the file when done.
func TestLockAdopterKilledDuringTurn(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := counterVolume(t, m)
			redisArgs := v.redisArg()
			// The first update's command kills the update (its parent).
			script := `sw=$0 root=$1 r=$2
"$sw" --root "$root" $r --timeout 10s update k -- sh -c 'kill -9 $PPID'
st=$?
[ $st -eq 137 ] || { echo "killed update: exit $st" >&2; exit 1; }
exec "$sw" --root "$root" $r --timeout 10s update k -- sh -c 'read n; echo $((n+1))'`
			res := v.run(t, "", "--timeout", "20s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs)
			if res.code != 0 {
				t.Fatalf("lock with a killed adopter, then another: exit %d after %v; stderr: %s", res.code, res.took.Round(time.Millisecond), res.stderr)
			}
			if res.took > 8*time.Second {
				t.Errorf("the adopter after the killed one took %v", res.took)
			}
			b, err := os.ReadFile(filepath.Join(v.root, "k"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(b)); got != "1" {
				t.Errorf("k = %q; want 1", got)
			}
			turns, _ := filepath.Glob(filepath.Join(v.root, ".sharedwrite", "locks", "*.turn"))
			if len(turns) != 0 {
				t.Errorf("turn files left: %v", turns)
			}
		})
	}
}
