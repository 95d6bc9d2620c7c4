//go:build unix

package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/writer"
)

// hostileRig is a base directory holding the root and an "outside" directory
// that the root's symlinks point into.
type hostileRig struct {
	base, root, outside string
}

func newHostileRig(t *testing.T) hostileRig {
	t.Helper()
	base := t.TempDir()
	h := hostileRig{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{h.root, h.outside, filepath.Join(h.root, "dir"), filepath.Join(h.root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(h.outside, "secret"), []byte("outside\n"), 0o644))
	must(os.WriteFile(filepath.Join(h.root, "sub", "real"), []byte("inside\n"), 0o644))
	must(os.Symlink("../outside", filepath.Join(h.root, "esc")))
	must(os.Symlink(filepath.Join(h.outside, "secret"), filepath.Join(h.root, "escfile")))
	must(os.Symlink("nothere", filepath.Join(h.root, "dangling")))
	must(os.Symlink(filepath.Join(h.outside, "nothere"), filepath.Join(h.root, "dangabs")))
	must(os.Symlink("loop2", filepath.Join(h.root, "loop1")))
	must(os.Symlink("loop1", filepath.Join(h.root, "loop2")))
	must(os.Symlink("/proc/self", filepath.Join(h.root, "proc")))
	must(os.Symlink("sub/real", filepath.Join(h.root, "inner"))) // inside the root: must stay a symlink
	must(syscall.Mkfifo(filepath.Join(h.root, "fifo"), 0o644))
	return h
}

// hostileName is one refused name. bug, when set, names a known product bug
// that makes the CLI answer otherwise: the case is skipped with that reason
// when (and only when) the answer is the bug's.
type hostileName struct {
	label, name string
	bug         string
	bugs        map[string]string // known bugs of single commands
}

func hostileNames(h hostileRig) []hostileName {
	return []hostileName{
		{label: "dotdot", name: ".."},
		{label: "dotdot-child", name: "../x"},
		{label: "dotdot-inner", name: "sub/../../x"},
		{label: "absolute-outside", name: filepath.Join(h.outside, "new")},
		{label: "absolute-inside", name: filepath.Join(h.root, "sub", "real")},
		{label: "symlink-dir-outside", name: "esc/new"},
		{label: "symlink-file-outside", name: "escfile"},
		{label: "dangling-symlink", name: "dangling"},
		{label: "dangling-symlink-outside", name: "dangabs"},
		{label: "symlink-loop", name: "loop1"},
		{label: "symlink-loop-child", name: "loop1/x"},
		{label: "long-component", name: strings.Repeat("n", 300)},
		{label: "newline-outside", name: "../evil\nsharedwrite: forged log line"},
		{label: "directory", name: "dir"},
		{label: "fifo", name: "fifo"},
		{label: "proc-symlink", name: "proc/environ"},
		{label: "proc-absolute", name: "/proc/self/environ"},
		{label: "proc-root", name: "/proc/1/root/etc/hostname"},
		{label: "empty", name: ""},
		{label: "root-itself", name: "."},
	}
}

// hostileCommands are the CLI commands each hostile name goes through. A move
// takes its source from a spool directory outside the rig (a caller's own file
// may be outside the root; the move consumes it).
var hostileCommands = []struct {
	name string
	args func(spool, n string) []string
	// accepts lists names this command may accept: a lock is on a name, not
	// a file, and mkdir of an existing directory succeeds.
	accepts []string
}{
	{name: "write", args: func(_, n string) []string { return []string{"write", n} }},
	{name: "update", args: func(_, n string) []string { return []string{"update", n, "--", "sh", "-c", "cat; echo more"} }},
	{name: "rm", args: func(_, n string) []string { return []string{"rm", n} }},
	{name: "init", args: func(_, n string) []string { return []string{"init", n, "--from", "-"} }},
	{name: "lock", args: func(_, n string) []string { return []string{"lock", n, "--", "true"} }, accepts: []string{"dir", "fifo"}},
	{name: "mkdir", args: func(_, n string) []string { return []string{"mkdir", n} }, accepts: []string{"dir"}},
	{name: "move", args: func(spool, n string) []string { return []string{"move", spool, n} }},
}

// TestHostileNames feeds refused names to the CLI's commands, each case on a
// fresh rig: each must exit 5 with one line naming the escaped name, and
// nothing outside the root (nor any symlink inside it) may change.
func TestHostileNames(t *testing.T) {
	fig := figures(t)
	for _, hn := range hostileNames(newHostileRig(t)) {
		for _, c := range hostileCommands {
			t.Run(hn.label+"/"+c.name, func(t *testing.T) {
				h := newHostileRig(t)
				hn := hostileNames(h)[slices.IndexFunc(hostileNames(h), func(x hostileName) bool { return x.label == hn.label })]
				spool := filepath.Join(t.TempDir(), "spool")
				if err := os.WriteFile(spool, []byte("spooled\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				v := vol{root: h.root}
				outsideOnly := func(rel string) bool { return rel == "root" }
				before := snapshot(t, h.base, outsideOnly)
				links := symlinks(t, h.root)
				inside := insideRoot(t, h.root)

				fig.Ops.Add(1)
				r := v.run(t, "payload\n", c.args(spool, hn.name)...)
				if r.code != 0 {
					fig.Refusals.Add(1)
				}
				if d := diffSnapshots(before, snapshot(t, h.base, outsideOnly)); len(d) > 0 {
					t.Errorf("outside the root: %s", strings.Join(d, "; "))
				}
				if d := diffSnapshots(links, symlinks(t, h.root)); len(d) > 0 {
					t.Errorf("symlinks inside the root: %s", strings.Join(d, "; "))
				}
				if slices.Contains(c.accepts, hn.name) {
					if r.code != 0 {
						t.Errorf("%s %s: exit %d; want 0: %s", c.name, quote.Name(hn.name), r.code, r.stderr)
					}
					return
				}
				if r.code != 5 {
					if hn.bug != "" && r.code == 1 {
						t.Skipf("known product bug: %s; exit %d: %s", hn.bug, r.code, r.stderr)
					}
					if bug := hn.bugs[c.name]; bug != "" {
						t.Skipf("known product bug: %s; exit %d: %s", bug, r.code, r.stderr)
					}
					t.Errorf("%s %s: exit %d; want 5; stderr: %s", c.name, quote.Name(hn.name), r.code, r.stderr)
				}
				checkRefusalMessage(t, r.stderr, hn.name)
				if d := diffSnapshots(inside, insideRoot(t, h.root)); len(d) > 0 {
					t.Errorf("inside the root, after a refusal: %s", strings.Join(d, "; "))
				}
			})
		}
	}
}

// checkRefusalMessage checks that stderr is one line that names the escaped
// name (a newline in a name must not start a second, forged line).
func checkRefusalMessage(t *testing.T, stderr, name string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("stderr has %d lines; want 1 (names escaped): %q", len(lines), stderr)
	}
	if !strings.Contains(stderr, quote.Name(name)) {
		t.Errorf("stderr %q; want it to name %s", stderr, quote.Name(name))
	}
	if !strings.HasPrefix(stderr, "sharedwrite: ") {
		t.Errorf("stderr %q; want it to start with %q", stderr, "sharedwrite: ")
	}
}

// TestHostileMetadataNames: the volume's own metadata is not a file the CLI
// writes; writing it would break every later operation (a config) or the file
// lock that serialises writers (a lock file).
func TestHostileMetadataNames(t *testing.T) {
	fig := figures(t)
	for _, name := range []string{".sharedwrite/config", ".sharedwrite/volume-id", ".sharedwrite/locks/x", ".sharedwrite"} {
		t.Run(name, func(t *testing.T) {
			v := newVol(t, t.TempDir(), "")
			if r := v.run(t, "seed\n", "write", "seed"); r.code != 0 {
				t.Fatalf("write seed: exit %d: %s", r.code, r.stderr)
			}
			noLocks := func(rel string) bool { return rel == "locks" }
			before := snapshot(t, filepath.Join(v.root, ".sharedwrite"), noLocks)
			fig.Ops.Add(1)
			r := v.run(t, "clobbered\n", "write", name)
			if r.code != 0 {
				fig.Refusals.Add(1)
			}
			after := v.run(t, "again\n", "write", "seed")
			if r.code == 5 {
				checkRefusalMessage(t, r.stderr, name)
			}
			if r.code != 5 {
				t.Errorf("write %s: exit %d; want 5; stderr: %s", quote.Name(name), r.code, r.stderr)
			}
			if after.code != 0 {
				t.Errorf("write seed after: exit %d; want 0: %s", after.code, after.stderr)
			}
			if d := diffSnapshots(before, snapshot(t, filepath.Join(v.root, ".sharedwrite"), noLocks)); len(d) > 0 {
				t.Errorf(".sharedwrite changed: %s", strings.Join(d, "; "))
			}
		})
	}
}

// TestHostileNUL: a NUL cannot reach the CLI through argv; through the library
// it is refused with ErrInvalidName, by the writer and the coordinator.
func TestHostileNUL(t *testing.T) {
	fig := figures(t)
	h := newHostileRig(t)
	ctx := context.Background()
	names := []string{"a\x00b", "sub/\x00", "\x00", "../\x00x"}

	r, err := writer.Open(h.root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := coordinator.Open(ctx, h.root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := snapshot(t, h.base, nil)
	for _, n := range names {
		fig.Ops.Add(2)
		werr := r.WriteFile(ctx, n, []byte("x"), 0o644)
		cerr := c.WriteFile(ctx, n, []byte("x"), 0o644)
		for _, e := range []struct {
			who string
			err error
		}{{"writer.WriteFile", werr}, {"coordinator.WriteFile", cerr}} {
			if e.err != nil {
				fig.Refusals.Add(1)
			}
			if !errors.Is(e.err, writer.ErrInvalidName) && !errors.Is(e.err, writer.ErrOutsideRoot) {
				t.Errorf("%s(%q): got %v; want ErrInvalidName", e.who, n, e.err)
				continue
			}
			if strings.ContainsRune(e.err.Error(), 0) {
				t.Errorf("%s(%q): message carries a raw NUL: %q", e.who, n, e.err.Error())
			}
		}
	}
	if d := diffSnapshots(before, snapshot(t, h.base, nil)); len(d) > 0 {
		t.Errorf("changed: %s", strings.Join(d, "; "))
	}
}

// TestHostileFlags: bad flags and URLs are usage errors (exit 2) with a clear
// message, and a password in a URL never appears in the output.
func TestHostileFlags(t *testing.T) {
	fig := figures(t)
	root := t.TempDir()
	v := newVol(t, root, "")
	if r := v.run(t, "seed\n", "write", "seed"); r.code != 0 {
		t.Fatalf("write seed: exit %d: %s", r.code, r.stderr)
	}
	const pw = "s3cretpw"
	cases := []struct {
		label string
		args  []string
		want  int
		bug   string
	}{
		{"unknown-flag", []string{"--root", root, "--no-such-flag", "write", "f"}, 2, ""},
		{"log-level", []string{"--root", root, "--log-level", "loud", "write", "f"}, 2, ""},
		{"log-format", []string{"--root", root, "--log-format", "xml", "write", "f"}, 2, ""},
		{"timeout-word", []string{"--root", root, "--timeout", "soon", "write", "f"}, 2, ""},
		{"missing-name", []string{"--root", root, "write"}, 2, ""},
		{"update-without-cmd", []string{"--root", root, "update", "f"}, 2, ""},
		{"url-scheme", []string{"--root", root, "--redis", "http://user:" + pw + "@127.0.0.1:1", "write", "f"}, 2, ""},
		{"url-port", []string{"--root", root, "--redis", "redis://:" + pw + "@127.0.0.1:notaport", "write", "f"}, 2, ""},
		{"lease-ttl-negative", []string{"--root", root, "--lease-ttl", "-1s", "write", "f"}, 2, ""},
		{"lease-ttl-zero", []string{"--root", root, "--lease-ttl", "0", "write", "f"}, 2, ""},
		{"timeout-negative", []string{"--root", root, "--timeout", "-5s", "write", "g"}, 2, ""},
		{"url-uninitialised", []string{"--root", t.TempDir(), "--redis", "redis://:" + pw + "@127.0.0.1:1", "write", "f"}, 5, ""},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			fig.Ops.Add(1)
			r := runArgs(t, nil, "x\n", c.args...)
			if r.code != 0 {
				fig.Refusals.Add(1)
			}
			if strings.Contains(r.stderr+r.stdout, pw) {
				t.Errorf("output carries the password: %q", r.stderr+r.stdout)
			}
			if r.code != c.want {
				if c.bug != "" {
					t.Skipf("known product bug: %s; exit %d: %s", c.bug, r.code, r.stderr)
				}
				t.Errorf("exit %d; want %d; stderr: %s", r.code, c.want, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "sharedwrite: ") {
				t.Errorf("stderr %q; want a message starting %q", r.stderr, "sharedwrite: ")
			}
		})
	}
	if got, err := os.ReadFile(filepath.Join(root, "f")); err == nil {
		t.Errorf("f was written (%q) by a refused command line", got)
	}
	if got, err := os.ReadFile(filepath.Join(root, "g")); err == nil && !t.Skipped() {
		t.Logf("g was written (%q) with a negative --timeout", got)
	}
}
