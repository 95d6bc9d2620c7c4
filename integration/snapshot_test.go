package integration

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// entry is what a snapshot keeps of one path: enough to see that nothing was
// created, removed, replaced, resized or touched.
type entry struct {
	mode   fs.FileMode
	size   int64
	mtime  time.Time
	target string // symlinks
}

// snapshot lists everything under dir (without following symlinks), skipping
// the paths skip accepts.
func snapshot(t *testing.T, dir string, skip func(rel string) bool) map[string]entry {
	t.Helper()
	snap := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			e.target, _ = os.Readlink(p)
		}
		if fi.IsDir() {
			e.size = 0 // a directory's size follows its entries; entries are compared one by one
		}
		snap[rel] = e
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return snap
}

// diffSnapshots returns the differences between two snapshots.
func diffSnapshots(before, after map[string]entry) []string {
	var d []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			d = append(d, "removed "+quote.Name(p))
		case a != b:
			d = append(d, fmt.Sprintf("changed %s: %+v -> %+v", quote.Name(p), b, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "created "+quote.Name(p))
		}
	}
	return d
}

// insideRoot is the snapshot of the root's content: without the volume's own
// metadata and the root directory itself (whose mtime changes when the
// metadata is first published).
func insideRoot(t *testing.T, root string) map[string]entry {
	t.Helper()
	snap := snapshot(t, root, func(rel string) bool { return rel == ".sharedwrite" })
	delete(snap, ".")
	return snap
}

// symlinks is the snapshot of the symlinks under dir.
func symlinks(t *testing.T, dir string) map[string]entry {
	t.Helper()
	links := map[string]entry{}
	for p, e := range snapshot(t, dir, func(rel string) bool { return rel == ".sharedwrite" }) {
		if e.mode&fs.ModeSymlink != 0 {
			links[p] = e
		}
	}
	return links
}
