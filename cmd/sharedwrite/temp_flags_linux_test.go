package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// straceOpen matches an open(2)/openat(2) that creates a file, as strace
// prints it (also one another thread's call interrupted: "<unfinished ...>"):
// its name, its flags and its mode.
var straceOpen = regexp.MustCompile(`open(?:at)?\((?:[^,]+, )?"([^"]*)", ([A-Z_|]*O_CREAT[A-Z_|]*), (0[0-7]+)(?:\)| <unfinished)`)

// tracedStart starts the CLI on v under strace -f, its trace written to out,
// with stdin as its stdin ("": /dev/null).
func (v volume) tracedStart(t *testing.T, out, stdin string, args ...string) *started {
	t.Helper()
	sargs := append([]string{"-f", "-qq", "-e", "trace=open,openat,creat", "-o", out, swBin}, v.args(args...)...)
	cmd := exec.Command("strace", sargs...)
	cmd.Env = baseEnv()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return startCmd(t, cmd)
}

// tempCreations returns the creations of temp files (a base name holding
// ".tmp") in the strace output file, each as its name, flags and mode.
func tempCreations(t *testing.T, trace string) [][]string {
	t.Helper()
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, m := range straceOpen.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(filepath.Base(m[1]), ".tmp") {
			out = append(out, m[1:])
		}
	}
	return out
}

// The temp files write, update and doctor --peer create on the volume are
// created O_EXCL with mode 0600: a name planted there in advance (a hard link to another file,
// a file of another owner) is never opened and written through. doctor
// --peer's hello files go through temps too.
func TestTempFilesCreatedExclusive0600(t *testing.T) {
	if err := exec.Command("strace", "-o", os.DevNull, "true").Run(); err != nil {
		testrig.Unavailable(t, "strace (tracing a process): "+err.Error())
	}
	v := newVolume(t, mode{name: "local"})
	traces := t.TempDir()
	if r := v.run(t, "one\n", "write", "w.txt"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	cases := []struct {
		name  string
		stdin string
		args  [][]string // run at once, each traced
	}{
		{"write", "two\n", [][]string{{"write", "w.txt"}}},
		{"update", "", [][]string{{"update", "w.txt", "--", "cat"}}},
		{"doctor --peer", "", [][]string{
			{"doctor", "--peer", "--peer-wait", "30s"},
			{"doctor", "--peer", "--peer-wait", "30s"},
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var procs []*started
			var files []string
			for j, a := range tc.args {
				f := filepath.Join(traces, fmt.Sprintf("trace.%d.%d", i, j))
				files = append(files, f)
				procs = append(procs, v.tracedStart(t, f, tc.stdin, a...))
			}
			for _, s := range procs {
				if code := s.wait(t, 90*time.Second); code != 0 {
					t.Fatalf("%q: exit %d; stderr %s", s.cmd.Args, code, s.errb.String())
				}
			}
			n := 0
			for _, f := range files {
				for _, c := range tempCreations(t, f) {
					n++
					if !strings.Contains(c[1], "O_EXCL") || c[2] != "0600" {
						t.Errorf("temp %q created with flags %s, mode %s; want O_EXCL and 0600", c[0], c[1], c[2])
					}
				}
			}
			if n == 0 {
				t.Fatalf("no temp creation found in the traces %q", files)
			}
		})
	}
}
