package coordinator

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// txCrashRoleEnv selects a crash child role. It is read in init, before
// TestMain, so that the tests need no change to child_test.go.
const txCrashRoleEnv = "SW_TX_CRASH_ROLE"

func init() {
	if role := os.Getenv(txCrashRoleEnv); role != "" {
		os.Exit(txCrashChild(role))
	}
}

// txCrashChild runs a transaction over SW_FILES (comma separated; each file's
// content is "<name>=new") and SIGKILLs itself after rename SW_KILL_AT.
// SW_TEMPDIR sets WithTempDir.
func txCrashChild(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var opts []Option
	if u := os.Getenv("SW_REDIS"); u != "" {
		opts = append(opts, WithRedisURL(u))
	}
	if d, err := time.ParseDuration(os.Getenv("SW_TTL")); err == nil {
		opts = append(opts, WithLeaseTTL(d))
	}
	if td := os.Getenv("SW_TEMPDIR"); td != "" {
		opts = append(opts, WithTempDir(td))
	}
	c, err := Open(ctx, os.Getenv("SW_ROOT"), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer c.Close()
	killAt, _ := strconv.Atoi(os.Getenv("SW_KILL_AT"))
	switch role {
	case "tx-kill-after-rename":
		txAfterRename = func(i int) {
			if i == killAt {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown crash role", role)
		return 1
	}
	err = c.Tx(ctx, namedTxFiles("new", strings.Split(os.Getenv("SW_FILES"), ",")...))
	fmt.Fprintln(os.Stderr, "tx returned:", err)
	return 1
}

func namedTxFiles(v string, names ...string) []TxFile {
	fs := make([]TxFile, len(names))
	for i, n := range names {
		fs[i] = TxFile{Name: n, Data: []byte(n + "=" + v)}
	}
	return fs
}

// crashTx runs the crash child on root and checks that it was killed.
func crashTx(t *testing.T, root string, killAt int, names []string, env ...string) {
	t.Helper()
	env = append(env, "SW_ROOT="+root, "SW_KILL_AT="+strconv.Itoa(killAt), "SW_FILES="+strings.Join(names, ","))
	cmd := child(t, "-", env...)
	cmd.Env = append(cmd.Env, txCrashRoleEnv+"=tx-kill-after-rename")
	if s := exitStatus(cmd.Run()); s != -1 {
		t.Fatalf("crash child exited %d; want killed", s)
	}
}
