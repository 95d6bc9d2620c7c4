package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLockExitStatus: lock -- CMD exits with CMD's own status.
func TestLockExitStatus(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, status := range []int{0, 1, 3, 8, 42} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			res := v.run(t, "", "lock", "k", "--", "sh", "-c", "exit "+strconv.Itoa(status))
			if res.code != status {
				t.Errorf("exit %d; want %d; stderr: %s", res.code, status, res.stderr)
			}
			if res.stderr != "" {
				t.Errorf("stderr %q; want nothing (the status is CMD's)", res.stderr)
			}
		})
	}
	if res := v.run(t, "", "lock", "k", "--", "/no/such/program"); res.code == 0 || !strings.Contains(res.stderr, "/no/such/program") {
		t.Errorf("missing program: exit %d, stderr %q; want a failure naming the program", res.code, res.stderr)
	}
}

// TestLockEnvironmentAndNesting: CMD sees SHAREDWRITE_LEASE and
// SHAREDWRITE_FENCE, and sharedwrite commands inside CMD on the same key adopt
// the held lease and lock instead of deadlocking.
func TestLockEnvironmentAndNesting(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			redisArgs := v.redisArg()
			script := `printf '%s\n%s\n' "$SHAREDWRITE_LEASE" "$SHAREDWRITE_FENCE"
printf 'nested write\n' | "$0" --root "$1" $2 --timeout 20s write k --from -
"$0" --root "$1" $2 --timeout 20s update k -- sh -c 'cat; echo nested update'`
			res := v.run(t, "", "--timeout", "30s", "lock", "k", "--", "sh", "-c", script, swBin, v.root, redisArgs)
			if res.code != 0 {
				t.Fatalf("lock with nested writes: exit %d; stderr: %s", res.code, res.stderr)
			}
			lines := strings.SplitN(res.stdout, "\n", 3)
			if len(lines) < 2 {
				t.Fatalf("stdout %q; want the lease and the fence", res.stdout)
			}
			var lease struct {
				Volume string `json:"volume"`
				Key    string `json:"key"`
				Lease  string `json:"lease"`
				Token  uint64 `json:"token"`
				FD     int    `json:"fd"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &lease); err != nil {
				t.Fatalf("SHAREDWRITE_LEASE %q: %v", lines[0], err)
			}
			if lease.Key != "k" || lease.Lease == "" || lease.Token == 0 || lease.FD != 3 {
				t.Errorf("SHAREDWRITE_LEASE: got %+v; want key k, a lease id, a token and fd 3", lease)
			}
			if id, err := os.ReadFile(filepath.Join(v.root, ".sharedwrite", "volume-id")); err != nil || lease.Volume != strings.TrimSpace(string(id)) {
				t.Errorf("SHAREDWRITE_LEASE volume %q; want the volume id %q (%v)", lease.Volume, id, err)
			}
			if lines[1] != strconv.FormatUint(lease.Token, 10) {
				t.Errorf("SHAREDWRITE_FENCE: got %q; want the token %d", lines[1], lease.Token)
			}
			b, err := os.ReadFile(filepath.Join(v.root, "k"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "nested write\nnested update\n"; got != want {
				t.Errorf("k: got %q; want %q", got, want)
			}
			// The lease was released: a plain write goes through at once.
			if res := v.run(t, "after\n", "--timeout", "5s", "write", "k"); res.code != 0 {
				t.Errorf("write after lock: exit %d: %s", res.code, res.stderr)
			}
		})
	}
}

// A lock ends its lease by putting the volume's floor one past its token (so
// that a process it started cannot adopt or commit under it later), and moves
// Redis's fence counter past that floor too: the operations after it take a
// token above the floor without raising it, and without the warning kept for
// Redis handing tokens out again. Every operation after a lock printed that
// warning.
func TestLockLeavesNoFloorToRaise(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	if r := v.run(t, "", "lock", "k", "--", "true"); r.code != 0 || r.stderr != "" {
		t.Fatalf("first lock: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"lock", "k", "--", "true"}, {"write", "k"}, {"lock", "k", "--", "true"}, {"update", "k", "--", "cat"}} {
		// At info level: a raise whose token equals the floor is logged
		// there, not as a warning.
		r := v.run(t, "x\n", append([]string{"--log-level", "info"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d: %s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "fencing token raised past the volume's floor") {
			t.Errorf("%q after a lock, with Redis never restarted: stderr %q", args, r.stderr)
		}
	}
}
