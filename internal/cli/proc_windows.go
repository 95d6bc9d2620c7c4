//go:build windows

package cli

import (
	"os"
	"os/exec"
)

// inheritable: Windows has no descriptor inheritance by number; a nested call
// adopts the Redis lease only.
func inheritable(fd uintptr, key string) (*os.File, error) { return nil, nil }

func ownGroup(*exec.Cmd, bool) {}

func terminate(p *os.Process) { _ = p.Kill() }

func kill(p *os.Process) { _ = p.Kill() }

func stopGroup(*exec.Cmd) {}

func signalOf(*exec.ExitError) int { return 0 }
