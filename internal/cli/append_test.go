package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAppendLines(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, target, stdin, want string
		wantErr                   bool
	}{
		{name: "lines", target: "a.log", stdin: "one\ntwo\n", want: "one\ntwo\n"},
		{name: "last line without newline", target: "b.log", stdin: "one\nlast", want: "one\nlast\n"},
		{name: "empty stdin", target: "c.log", stdin: "", want: ""},
		{name: "target is a directory", target: "dir", stdin: "one\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			g := &globals{root: root, leaseTTL: 10 * time.Second, timeout: 30 * time.Second, logFormat: "text", logLevel: "error",
				stdin: strings.NewReader(tc.stdin), stdout: &bytes.Buffer{}, stderr: &stderr}
			logger, err := newLogger(&stderr, "text", "error")
			if err != nil {
				t.Fatal(err)
			}
			g.logger = logger
			err = runAppend(context.Background(), g, &appendOpts{name: tc.target, maxBytes: 1 << 20, mode: "0644", maxQueued: 4})
			if tc.wantErr {
				// Refused before stdin is read.
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), `"dir"`) {
					t.Fatalf("runAppend: got %v; want an error saying that %q is not a regular file", err, tc.target)
				}
				return
			}
			if err != nil {
				t.Fatalf("runAppend: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(root, tc.target))
			if err != nil && tc.want != "" {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
