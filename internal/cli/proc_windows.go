//go:build windows

package cli

import (
	"io"
	"os"
	"os/exec"
	"time"
)

// inheritable: Windows has no descriptor inheritance by number; a nested call
// adopts the Redis lease only.
func inheritable(fd uintptr, key string) (*os.File, error) { return nil, nil }

func ownGroup(*exec.Cmd, bool) {}

func terminate(p *os.Process) { _ = p.Kill() }

func kill(p *os.Process) { _ = p.Kill() }

func stopGroup(*exec.Cmd) {}

func signalOf(*exec.ExitError) int { return 0 }

// startGuard: no guard on Windows (a job object would be its counterpart).
func startGuard(*exec.Cmd, time.Duration, io.Writer) func() { return func() {} }

// withoutUmask: Windows has no umask.
func withoutUmask(fn func() error) error { return fn() }
