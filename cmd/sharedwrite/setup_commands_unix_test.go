//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// repoRoot is the checkout's top directory, where the README's set-up
// commands run.
const repoRoot = "../.."

// readmeSetupCommands returns the lines of the first ```sh block under the
// README's "## Set-up on a fresh machine".
func readmeSetupCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Set-up on a fresh machine\n")
	if !ok {
		t.Fatal(`README.md: no "## Set-up on a fresh machine" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("README.md set-up: no ```sh block")
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal("README.md set-up: the ```sh block does not end")
	}
	return strings.Split(strings.TrimSpace(block), "\n")
}

// posixShell is a shell without bash's extensions where there is one (dash
// refuses what a POSIX sh need not accept), /bin/sh otherwise.
func posixShell() string {
	if p, err := exec.LookPath("dash"); err == nil {
		return p
	}
	return "/bin/sh"
}

// TestReadmeSetupWriteRunsInAPOSIXShell runs the README's first set-up
// command (the main job in local mode, no Redis) as written, in a POSIX sh,
// from the checkout, with its root moved into the test's directory: it must
// create the root and write the file.
func TestReadmeSetupWriteRunsInAPOSIXShell(t *testing.T) {
	lines := readmeSetupCommands(t)
	first := lines[0]
	if !strings.Contains(first, "go run ./cmd/sharedwrite") || !strings.Contains(first, "/tmp/demo") {
		t.Fatalf("README set-up, first command: got %q; want a go run of ./cmd/sharedwrite with --root /tmp/demo", first)
	}
	root := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(posixShell(), "-c", strings.ReplaceAll(first, "/tmp/demo", root))
	cmd.Dir = repoRoot
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SHAREDWRITE_REDIS=") })
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -c %q: %v\n%s", cmd.Path, first, err, out)
	}
	got, err := os.ReadFile(filepath.Join(root, "hello.txt"))
	if err != nil {
		t.Fatalf("after the README's first command: %v", err)
	}
	if string(got) != "hello\n" {
		t.Errorf("hello.txt: got %q; want %q", got, "hello\n")
	}
}

// fakeTools makes a directory of stand-ins for the programs `make
// test-prereqs` looks for and calls: each binary it checks exits 0, `id -u`
// prints 0 (root), apt-get records its arguments in the returned log, and
// gcc compiles (or, with cCompiles false, fails as gcc does without the C
// library's headers).
func fakeTools(t *testing.T, cCompiles bool) (dir, aptLog string) {
	t.Helper()
	dir = t.TempDir()
	aptLog = filepath.Join(dir, "apt-get.log")
	write := func(name, script string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"redis-server", "redis-cli", "fusermount3", "sshfs", "sshd", "ip", "unshare", "strace"} {
		write(b, "exit 0\n")
	}
	if cCompiles {
		write("gcc", "cat >/dev/null; exit 0\n")
	} else {
		write("gcc", "cat >/dev/null; echo '<stdin>:1:10: fatal error: stdlib.h: No such file or directory' >&2; exit 1\n")
	}
	write("id", `[ "$1" = -u ] && echo 0 || /usr/bin/id "$@"`+"\n")
	write("apt-get", `echo "$*" >>'`+aptLog+"'\n")
	return dir, aptLog
}

// TestMakeTestPrereqsInstallsTheCLibraryGccLacks checks that `make
// test-prereqs`, as root, installs the C library's development files when
// gcc is there but cannot compile against them (gcc only recommends
// libc6-dev): the race tests need cgo, and without them every package fails
// to build.
func TestMakeTestPrereqsInstallsTheCLibraryGccLacks(t *testing.T) {
	mk := testrig.NeedBinary(t, "make")
	for _, tc := range []struct {
		name        string
		cCompiles   bool
		wantInstall bool
	}{
		{"gcc without the C library", false, true},
		{"everything there", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, aptLog := fakeTools(t, tc.cCompiles)
			cmd := exec.Command(mk, "-s", "-C", repoRoot, "test-prereqs")
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "MAKEFLAGS=")
			}), "PATH="+dir+":/usr/bin:/bin")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make test-prereqs: %v\n%s", err, out)
			}
			log, err := os.ReadFile(aptLog)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			installed := bytes.Contains(log, []byte("install")) && bytes.Contains(log, []byte("libc6-dev"))
			if installed != tc.wantInstall {
				t.Errorf("apt-get installed libc6-dev: got %v; want %v\nmake said: %s\napt-get calls: %q", installed, tc.wantInstall, out, log)
			}
		})
	}
}

// TestMakeTestRunsTheTestsWithTheBinariesItChecked checks that `make test`
// runs the tests with /usr/sbin and /sbin on PATH: test-prereqs counts sshd
// and ip found there as present, so the rigs that need them (found with
// exec.LookPath) must find them there too, rather than skip.
func TestMakeTestRunsTheTestsWithTheBinariesItChecked(t *testing.T) {
	mk := testrig.NeedBinary(t, "make")
	dir := t.TempDir()
	pathLog := filepath.Join(dir, "path")
	fakeGo := filepath.Join(dir, "go")
	if err := os.WriteFile(fakeGo, []byte("#!/bin/sh\nprintf '%s' \"$PATH\" >'"+pathLog+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mk, "-s", "-C", repoRoot, "unit", "GO="+fakeGo, "TEST_LOG="+filepath.Join(dir, "test.log"))
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "MAKEFLAGS=")
	}), "PATH=/usr/bin:/bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make unit: %v\n%s", err, out)
	}
	got, err := os.ReadFile(pathLog)
	if err != nil {
		t.Fatal(err)
	}
	dirs := filepath.SplitList(string(got))
	for _, want := range []string{"/usr/sbin", "/sbin"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("PATH of go test: got %q; want it to include %s", got, want)
		}
	}
}
