package main

import (
	"strings"
	"testing"
)

// TestRedisFromEnvironment: $SHAREDWRITE_REDIS selects Redis mode when
// --redis is absent, and its password never shows, not even in --help.
func TestRedisFromEnvironment(t *testing.T) {
	r := needRedis(t)
	root := t.TempDir()
	env := []string{"SHAREDWRITE_REDIS=" + strings.Replace(r.URL(), "redis://", "redis://:pw-in-env@", 1)}

	res := runCLI(t, env, "", "--help")
	if res.code != 0 || strings.Contains(res.stdout+res.stderr, "pw-in-env") {
		t.Errorf("--help: exit %d; shows the password: %v", res.code, strings.Contains(res.stdout+res.stderr, "pw-in-env"))
	}
	// Redis mode from the environment: the volume is not initialised (exit 5).
	res = runCLI(t, env, "x", "--root", root, "write", "a")
	if res.code != 5 || strings.Contains(res.stderr, "pw-in-env") {
		t.Errorf("write with $SHAREDWRITE_REDIS on an uninitialised volume: exit %d, stderr %q; want 5 without the password", res.code, res.stderr)
	}
	// --redis "" overrides the environment: local mode.
	res = runCLI(t, env, "x", "--root", root, "--redis", "", "write", "a")
	if res.code != 0 {
		t.Errorf("write with --redis \"\": exit %d, stderr %q; want local mode", res.code, res.stderr)
	}
}
