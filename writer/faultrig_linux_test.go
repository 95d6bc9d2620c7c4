//go:build linux

package writer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// faultRoot mounts a fault filesystem and opens a Root on its mount point.
func faultRoot(t *testing.T) (*faultfs.FS, *writer.Root) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{})
	r, err := writer.Open(ffs.Dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", ffs.Dir, err)
	}
	// Registered after the mount's cleanup, so it runs first.
	t.Cleanup(func() { r.Close() })
	return ffs, r
}

// faultCtx is a context for one operation, with a generous liveness bound.
func faultCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// tempGlob matches the temps of target (a base name) per the naming contract
// ".<name>.sw.<host>.<pid>.<start>.<random>.tmp".
func faultTempGlob(target string) string { return "." + target + ".sw.*.tmp" }

// quotedTemp matches a quoted temp name of target inside an error message.
func faultQuotedTemp(target string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(`"`) + `([^"]*/)?` + regexp.QuoteMeta("."+target+".sw.") + `[^"]*\.tmp"`)
}

// wantErrno checks that err wraps errno, states it, and names the target or
// one of its temps, quoted.
func faultWantErrno(t *testing.T, err error, errno syscall.Errno, target string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error; want one wrapping %s", faultErrnoName(errno))
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, errno) {
		t.Errorf("errors.Is(err, %s) = false; err: %v", faultErrnoName(errno), err)
	}
	msg := err.Error()
	if !strings.Contains(msg, errno.Error()) {
		t.Errorf("error %q does not state the errno (%q)", msg, errno.Error())
	}
	base := filepath.Base(target)
	if !strings.Contains(msg, quote.Name(target)) && !faultQuotedTemp(base).MatchString(msg) {
		t.Errorf("error %q names neither %s nor a temp of it", msg, quote.Name(target))
	}
}

func faultErrnoName(e syscall.Errno) string {
	switch e {
	case syscall.EIO:
		return "EIO"
	case syscall.ENOSPC:
		return "ENOSPC"
	case syscall.EXDEV:
		return "EXDEV"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.ENOTSUP:
		return "ENOTSUP"
	case syscall.ESTALE:
		return "ESTALE"
	}
	return e.Error()
}

// listing returns the names in the backing directory dir (sorted), so a test
// can check that nothing was left beside the target.
func faultListing(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read directory %s: %v", dir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// wantListing checks the backing directory holds exactly names.
func faultWantListing(t *testing.T, dir string, names ...string) {
	t.Helper()
	slices.Sort(names)
	if got := faultListing(t, dir); !slices.Equal(got, names) {
		t.Errorf("directory %s holds %q; want exactly %q (no temp left)", dir, got, names)
	}
}

// wantContent checks p holds want.
func faultWantContent(t *testing.T, p, want string) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	if string(got) != want {
		t.Errorf("%s holds %d bytes %.40q; want %d bytes %.40q", p, len(got), got, len(want), want)
	}
}

// seed writes content to rel in the backing directory.
func faultSeed(t *testing.T, ffs *faultfs.FS, rel, content string) {
	t.Helper()
	p := ffs.Backed(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
