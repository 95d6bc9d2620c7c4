//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// keep=1 keeps the version the link pointed to before the swap, so a slow
// reader inside it has time. An orphan version directory (a publish that
// crashed after its mkdir, before its swap) newer than that version must not
// take its place among the kept ones.
func TestPublishDirKeepsPreviousOverOrphan(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	if err := r.PublishDir(ctx, "site", fillVersion(1), 1); err != nil {
		t.Fatal(err)
	}
	prev, err := os.Readlink(filepath.Join(dir, "site"))
	if err != nil {
		t.Fatal(err)
	}
	// The crashed publish's leftover: half-filled, never linked.
	orphan := ".site.v" + strconv.FormatInt(time.Now().UnixNano(), 10)
	mustWrite(t, filepath.Join(dir, orphan, "a"), "half", 0o644)
	time.Sleep(time.Millisecond)
	if err := r.PublishDir(ctx, "site", fillVersion(2), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, prev)); err != nil {
		t.Errorf("the version the link pointed to before the publish (%s) was pruned with keep=1 (%v), while the never-published orphan %s was kept", prev, err, orphan)
	}
}

// Names that leave the root: MkdirAll, PublishDir and Remove refuse them
// and nothing is created, changed or removed outside the root.
func TestPublishMkdirRemoveConfinement(t *testing.T) {
	r, root, outside := confinementRig(t)
	ctx := context.Background()
	before := snapshotOpt(t, outside, false)
	rootBefore := snapshotOpt(t, root, false)
	names := []string{"out", "outfile", "abs", "sub/escape", "../outside", "sub/../../outside", filepath.Join(outside, "x")}
	for _, n := range names {
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"MkdirAll", func() error { return r.MkdirAll(ctx, n+"/new/deeper", 0o755) }},
			{"MkdirAll final", func() error { return r.MkdirAll(ctx, n, 0o755) }},
			{"PublishDir under", func() error { return r.PublishDir(ctx, n+"/site", fillVersion(1), 0) }},
			{"Remove", func() error { return r.Remove(ctx, n) }},
			{"Remove under", func() error { return r.Remove(ctx, n+"/secret") }},
		} {
			err := op.run()
			if err == nil {
				t.Errorf("%s(%q) = nil; want a refusal", op.name, n)
			} else if !errors.Is(err, ErrOutsideRoot) {
				t.Logf("%s(%q) = %v", op.name, n, err)
			}
		}
	}
	sameSnapshot(t, "outside", before, snapshotOpt(t, outside, false))
	sameSnapshot(t, "root", rootBefore, snapshotOpt(t, root, false))
}
