package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockAdoptsEnvWithoutTurn: a SHAREDWRITE_LEASE without "turn" (as an
// older sharedwrite writes it) is adopted, in the lease id's scope: an
// adopter given it and one given the full environment take turns with each
// other, every increment is kept and no turn file is left.
func TestLockAdoptsEnvWithoutTurn(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := counterVolume(t, m)
			redisArgs := v.redisArg()
			const per = 15
			script := `sw=$0 root=$1 r=$2 per=$3
case $SHAREDWRITE_LEASE in *'"turn":'*) ;; *) echo "no turn field: $SHAREDWRITE_LEASE" >&2; exit 9;; esac
old=$(printf '%s' "$SHAREDWRITE_LEASE" | sed 's/,"turn":"[^"]*"//')
case $old in *turn*) echo "turn field still there: $old" >&2; exit 9;; esac
inc() {
	i=0
	while [ $i -lt "$per" ]; do
		"$sw" --root "$root" $r --timeout 60s update k -- sh -c 'read n; sleep 0.002; echo $((n+1))' || exit 1
		i=$((i+1))
	done
}
( SHAREDWRITE_LEASE=$old; export SHAREDWRITE_LEASE; inc ) & a=$!
inc & b=$!
wait $a || exit 1
wait $b || exit 1`
			res := v.run(t, "", "--timeout", "60s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs, strconv.Itoa(per))
			if res.code != 0 {
				t.Fatalf("lock with an adopter of an environment without turn: exit %d; stderr: %s", res.code, res.stderr)
			}
			checkCounter(t, v, 2*per)
		})
	}
}

// TestLockTurnWaitTimesOutExit3: an adopter (a write, and a lock within
// the lock) that waits past its --timeout for the turn another adopter
// holds exits 3, as a wait for the lease or the lock does, and its message
// names the turn file.
func TestLockTurnWaitTimesOutExit3(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			redisArgs := v.redisArg()
			script := `sw=$0 root=$1 r=$2
"$sw" --root "$root" $r --timeout 30s update k -- sh -c 'cat; sleep 4; echo u' & u=$!
sleep 1
echo w | "$sw" --root "$root" $r --timeout 500ms write k; w=$?
"$sw" --root "$root" $r --timeout 500ms lock k -- true; l=$?
wait $u || exit 1
echo "write=$w lock=$l"`
			res := v.run(t, "", "--timeout", "60s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs)
			if res.code != 0 {
				t.Fatalf("lock: exit %d; stdout: %s; stderr: %s", res.code, res.stdout, res.stderr)
			}
			if got, want := strings.TrimSpace(res.stdout), "write=3 lock=3"; got != want {
				t.Errorf("exit codes of the adopters waiting for the turn: %s; want %s; stderr: %s", got, want, res.stderr)
			}
			if !strings.Contains(res.stderr, ".turn") {
				t.Errorf("stderr does not name the turn file: %s", res.stderr)
			}
			if res.took > 30*time.Second {
				t.Errorf("took %v", res.took)
			}
		})
	}
}

// TestLockInnerLockBackgroundKeepsTurns: a lock within a lock whose CMD
// leaves a loop of updates running in the background and exits. The loop's
// updates adopt the outer lease in the inner lock's scope, while the outer
// CMD's own updates run at the same time. No increment is lost: once the
// inner lock has exited, what it handed down ends with it, and the loop's
// next update is refused (exit 4, as a background adopter of a lock that
// was released is), never run beside the outer scope's.
func TestLockInnerLockBackgroundKeepsTurns(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := counterVolume(t, m)
			redisArgs := v.redisArg()
			dir := t.TempDir()
			inc := filepath.Join(dir, "inc.sh")
			done := filepath.Join(dir, "done")
			// inc.sh runs per updates, or until one fails; with a log file
			// it appends "ok" per update done and the failing exit status.
			if err := os.WriteFile(inc, []byte(`sw=$1 root=$2 r=$3 per=$4 log=$5
i=0
while [ $i -lt "$per" ]; do
	"$sw" --root "$root" $r --timeout 60s update k -- sh -c 'read n; sleep 0.002; echo $((n+1))'
	rc=$?
	if [ $rc -ne 0 ]; then
		[ -n "$log" ] && echo "exit $rc" >> "$log"
		exit 1
	fi
	[ -n "$log" ] && echo ok >> "$log"
	i=$((i+1))
done
`), 0o644); err != nil {
				t.Fatal(err)
			}
			const per = 20
			bgLog := filepath.Join(dir, "bg.log")
			script := `sw=$0 root=$1 r=$2 per=$3 inc=$4 done=$5 log=$6
"$sw" --root "$root" $r --timeout 60s lock k -- sh -c '( sh "$1" "$2" "$3" "$4" "$5" "$7"; touch "$6" ) </dev/null >/dev/null 2>&1 &' sh "$inc" "$sw" "$root" "$r" "$per" "$done" "$log" || exit 1
sh "$inc" "$sw" "$root" "$r" "$per" || exit 1
n=0
while [ ! -e "$done" ]; do
	n=$((n+1)); [ $n -gt 600 ] && { echo "the background loop did not finish" >&2; exit 1; }
	sleep 0.1
done`
			res := v.run(t, "", "--timeout", "60s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs, strconv.Itoa(per), inc, done, bgLog)
			if res.code != 0 {
				t.Fatalf("lock: exit %d; stderr: %s", res.code, res.stderr)
			}
			logged, err := os.ReadFile(bgLog)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			bgDone := strings.Count(string(logged), "ok\n")
			if i := strings.Index(string(logged), "exit "); i >= 0 && strings.TrimSpace(string(logged)[i:]) != "exit 4" {
				t.Errorf("the background loop's refused update: %q; want exit 4", strings.TrimSpace(string(logged)[i:]))
			}
			b, err := os.ReadFile(filepath.Join(v.root, "k"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(string(b)), strconv.Itoa(per+bgDone); got != want {
				t.Errorf("k = %s after %d + %d increments done by adopters of one lease; want %s (updates lost)", got, per, bgDone, want)
			}
		})
	}
}
