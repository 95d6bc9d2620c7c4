//go:build linux

package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// appendRunner returns a function that runs append o on root in process,
// with stdin as its input (logs at error level only).
func appendRunner(t *testing.T, root string, o appendOpts) func(stdin string) error {
	return func(stdin string) error {
		var stderr bytes.Buffer
		g := &globals{root: root, leaseTTL: 10 * time.Second, timeout: 30 * time.Second, logFormat: "text", logLevel: "error",
			stdin: strings.NewReader(stdin), stdout: &bytes.Buffer{}, stderr: &stderr}
		logger, err := newLogger(&stderr, "text", "error")
		if err != nil {
			t.Fatal(err)
		}
		g.logger = logger
		return runAppend(context.Background(), g, &o)
	}
}
