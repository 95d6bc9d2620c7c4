package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"usage", usagef("bad"), exitUsage},
		{"wrapped usage", fmt.Errorf("x: %w", usageError{errors.New("y")}), exitUsage},
		{"lock status", exitStatus{42}, 42},
		{"volume", volumeError{errors.New("v")}, exitBadVolume},
		{"redis unavailable", fmt.Errorf("doctor: %w", errRedisUnavailable), exitUnavailable},
		{"command failed", newCommandFailed("k", 1, errors.New("exit 1")), exitCommandFailed},
		{"lease lost", fmt.Errorf("x: %w", coordinator.ErrLeaseLost), exitLeaseLost},
		{"fenced", coordinator.ErrFenced, exitLeaseLost},
		{"not obtained", coordinator.ErrNotObtained, exitNotObtained},
		{"outside root", coordinator.ErrOutsideRoot, exitBadVolume},
		{"not initialised", coordinator.ErrVolumeNotInitialised, exitBadVolume},
		{"unconfirmed", coordinator.ErrDurabilityUnconfirmed, exitUnconfirmed},
		{"other", errors.New("boom"), exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v): got %d; want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestRunUsage runs the command tree in process: usage errors are exit 2 with
// one line on stderr, help is exit 0.
func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--help"}, 0},
		{[]string{"write", "--help"}, 0},
		{[]string{"version"}, 0},
		{[]string{}, 2},
		{[]string{"nope"}, 2},
		{[]string{"write"}, 2},
		{[]string{"update", "k"}, 2},
		{[]string{"--log-level", "loud", "version"}, 2},
		{[]string{"bench", "--ops", "0"}, 2},
		{[]string{"--lease-ttl", "0", "--root", "/nonexistent", "write", "f"}, 2},
		{[]string{"--lease-ttl", "-1s", "--root", "/nonexistent", "write", "f"}, 2},
		{[]string{"--timeout", "-5s", "--root", "/nonexistent", "write", "f"}, 2},
		{[]string{"--redis", "http://127.0.0.1:1", "--root", "/nonexistent", "write", "f"}, 2},
		{[]string{"--redis", "redis://127.0.0.1:notaport", "--root", "/nonexistent", "write", "f"}, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			got := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
			if got != tt.want {
				t.Errorf("exit %d; want %d; stderr %q", got, tt.want, errb.String())
			}
			if tt.want == 2 && !strings.Contains(errb.String(), "sharedwrite: ") {
				t.Errorf("stderr %q; want the error line", errb.String())
			}
		})
	}
}

// TestUnknownFlagBeforeCommandIsNamed: an unknown flag before the command is
// the error reported (exit 2), not the word after the command, which cobra
// took for the command once it had given the command's name to the flag.
func TestUnknownFlagBeforeCommandIsNamed(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--root", "/nonexistent", "--bogus", "read", "counter"}, "unknown flag: --bogus"},
		{[]string{"--bogus=1", "read", "counter"}, "unknown flag: --bogus"},
		{[]string{"-q", "read", "counter"}, "unknown flag: -q"},
		{[]string{"--timeout", "1s", "--bogus", "write", "f"}, "unknown flag: --bogus"},
		{[]string{"nope", "x"}, `unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			got := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
			if got != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", got, errb.String(), tt.want)
			}
		})
	}
}
