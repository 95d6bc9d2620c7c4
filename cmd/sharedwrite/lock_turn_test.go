package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLockAdoptersTakeTurns: commands that adopt one lock's lease run at
// the same time (two loops of `update` in the background of CMD) take turns
// on the key: every increment is kept. They share the holder's lock, so
// without turns two of them read the same value and one update is lost.
// So do those run by a lock within the lock ("nested"), in the inner lock's
// own scope, which does not wait for the turn the inner lock holds.
func TestLockAdoptersTakeTurns(t *testing.T) {
	for _, m := range modes(t) {
		for _, nested := range []bool{false, true} {
			name := m.name
			if nested {
				name += "/nested"
			}
			t.Run(name, func(t *testing.T) { adoptersTakeTurns(t, m, nested) })
		}
	}
}

func adoptersTakeTurns(t *testing.T, m mode, nested bool) {
	v := counterVolume(t, m)
	redisArgs := v.redisArg()
	const per = 20
	script := `sw=$0 root=$1 r=$2 per=$3
inc() {
	i=0
	while [ $i -lt "$per" ]; do
		"$sw" --root "$root" $r --timeout 60s update k -- sh -c 'read n; sleep 0.002; echo $((n+1))' || exit 1
		i=$((i+1))
	done
}
inc & a=$!
inc & b=$!
wait $a || exit 1
wait $b || exit 1`
	args := []string{"--timeout", "60s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs, strconv.Itoa(per)}
	if nested {
		args = append([]string{"--timeout", "60s", "lock", "k", "--", swBin}, v.args(args...)...)
	}
	res := v.run(t, "", args...)
	if res.code != 0 {
		t.Fatalf("lock with two loops of updates: exit %d; stderr: %s", res.code, res.stderr)
	}
	checkCounter(t, v, 2*per)
}

// TestLockAdoptedWriteWaitsForUpdate: a streaming write by one adopter waits
// for an update another adopter is running: it commits after it, never
// between the update's read and its commit (which would put back what the
// update read, losing the write).
func TestLockAdoptedWriteWaitsForUpdate(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if res := v.run(t, "0\n", "write", "k"); res.code != 0 {
		t.Fatalf("write: exit %d: %s", res.code, res.stderr)
	}
	script := `sw=$0 root=$1
"$sw" --root "$root" --timeout 60s update k -- sh -c 'cat; sleep 1; echo u' & u=$!
sleep 0.3
printf 'w\n' | "$sw" --root "$root" --timeout 60s write k --from - || exit 1
wait $u`
	res := v.run(t, "", "--timeout", "60s", "lock", "k", "--", "sh", "-c", script, swBin, v.root)
	if res.code != 0 {
		t.Fatalf("lock with an update and a write: exit %d; stderr: %s", res.code, res.stderr)
	}
	b, err := os.ReadFile(filepath.Join(v.root, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "w\n" && got != "w\nu\n" {
		t.Errorf("k = %q; want %q (the write after the update) or %q (before it): the write was lost", got, "w\n", "w\nu\n")
	}
}

// counterVolume is a volume of mode m whose file k holds "0".
func counterVolume(t *testing.T, m mode) volume {
	t.Helper()
	v := newVolume(t, m)
	if res := v.run(t, "0\n", "write", "k"); res.code != 0 {
		t.Fatalf("write: exit %d: %s", res.code, res.stderr)
	}
	return v
}

// redisArg is the --redis argument of v's mode for the commands a CMD runs
// ("" in local mode).
func (v volume) redisArg() string {
	if v.redis == "" {
		return ""
	}
	return "--redis=" + v.redis
}

// checkCounter checks that k holds want, the increments made by the
// commands run under one lease (fewer: updates were lost), and that no turn
// file is left.
func checkCounter(t *testing.T, v volume, want int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.root, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(want) {
		t.Errorf("k = %s after %d increments by commands sharing one lease; want %d (updates lost)", got, want, want)
	}
	turns, _ := filepath.Glob(filepath.Join(v.root, ".sharedwrite", "locks", "*.turn"))
	if len(turns) != 0 {
		t.Errorf("turn files left: %v", turns)
	}
}
