package cli

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// volume is the coordinated volume the commands work on. It is the one file
// that speaks to the coordinator package.
type volume struct{}

// writeOptions are the write command's flags, as the coordinator takes them.
type writeOptions struct {
	perm          fs.FileMode
	forceMode     bool
	keepMtime     bool
	inPlaceIfBusy bool
}

// leaseInfo is what `lock NAME -- CMD` hands to CMD.
type leaseInfo struct {
	Key     string
	LeaseID string
	Token   uint64
	Fd      uintptr
}

type sweepSummary struct {
	Removed []string
	Kept    int
}

var errNoCoordinator = errors.New("coordinator not available in this build")

func openVolume(ctx context.Context, g *globals) (*volume, error) {
	return nil, errNoCoordinator
}

func (v *volume) Close() error                         { return nil }
func (v *volume) InitVolume(ctx context.Context) error { return errNoCoordinator }
func (v *volume) WriteFrom(ctx context.Context, name string, r io.Reader, o writeOptions) error {
	return errNoCoordinator
}
func (v *volume) Update(ctx context.Context, name string, fn func(old []byte, exists bool) ([]byte, error)) error {
	return errNoCoordinator
}
func (v *volume) InitOnce(ctx context.Context, name string, gen func(context.Context) ([]byte, error)) ([]byte, error) {
	return nil, errNoCoordinator
}
func (v *volume) MkdirAll(ctx context.Context, name string, perm fs.FileMode) error {
	return errNoCoordinator
}
func (v *volume) Move(ctx context.Context, src, dst string) error { return errNoCoordinator }
func (v *volume) Remove(ctx context.Context, name string) error   { return errNoCoordinator }
func (v *volume) Lock(ctx context.Context, name string, fn func(context.Context, leaseInfo) error) error {
	return errNoCoordinator
}
func (v *volume) Sweep(ctx context.Context, olderThan time.Duration) (sweepSummary, error) {
	return sweepSummary{}, errNoCoordinator
}

// newCommandFailed wraps the failure of the command after `--` (exit 8).
func newCommandFailed(path string, status int, err error) error {
	return commandFailed{path: path, status: status, err: err}
}

type commandFailed struct {
	path   string
	status int
	err    error
}

func (e commandFailed) Error() string { return "command for " + e.path + " failed: " + e.err.Error() }
func (e commandFailed) Unwrap() error { return e.err }

// libraryExitCode maps an error of the coordinator, writer or locking packages.
func libraryExitCode(err error) int {
	if errors.As(err, new(commandFailed)) {
		return exitCommandFailed
	}
	return exitFailure
}
