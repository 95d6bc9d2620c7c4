// Package integration runs sharedwrite as many OS processes against a real
// redis-server and real mounts, and injects the faults a shared volume meets:
// killed writers, paused holders, a Redis outage and failover, disk errors,
// stale network-filesystem caches and hostile names. Each scenario asserts its
// invariants and adds its figures to a table printed when the package ends.
//
// The default run is the short one (`make test`); SHAREDWRITE_SOAK=1 runs the
// long one (`make soak`). SHAREDWRITE_FIGURES=FILE also writes the table there.
package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// The CLI is built once, without -race (the processes are the subject, not the
// test binary), and one redis-server serves the scenarios that need no Redis
// faults; each scenario uses its own root, so its own volume id and keys.
var (
	swBin    string
	redisSrv *testrig.Redis
	redisErr error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sharedwrite-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if swBin, err = testrig.BuildCLI(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Mkdir(filepath.Join(dir, "redis"), 0o700); err == nil {
		redisSrv, redisErr = testrig.LaunchRedis(filepath.Join(dir, "redis"))
	}
	if redisSrv != nil {
		defer redisSrv.Kill()
	}
	start := time.Now()
	code := m.Run()
	table := collector.table(time.Since(start))
	fmt.Print(table)
	if f := os.Getenv("SHAREDWRITE_FIGURES"); f != "" {
		if err := os.WriteFile(f, []byte(table), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "write figures to %s: %v\n", f, err)
		}
	}
	return code
}

// soak reports whether the long run was asked for (SHAREDWRITE_SOAK=1).
func soak() bool { return os.Getenv("SHAREDWRITE_SOAK") == "1" }

// pick returns short in the default run and long in the soak run.
func pick[T any](short, long T) T {
	if soak() {
		return long
	}
	return short
}

// needRedis returns the package's redis-server, or skips (fails under
// SHAREDWRITE_REQUIRE_RIGS=1).
func needRedis(t *testing.T) *testrig.Redis {
	t.Helper()
	if redisSrv == nil {
		testrig.Unavailable(t, fmt.Sprintf("redis-server: %v", redisErr))
	}
	return redisSrv
}
