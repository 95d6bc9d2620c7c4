//go:build linux

package rootrel

import (
	"os"
	"path/filepath"

	"github.com/sharedwrite/sharedwrite/internal/mountinfo"
)

// bound returns dir (a real, absolute path) relative to rootDir when dir
// shows a directory of the root through another mount of the same filesystem
// (a bind mount of a sub-directory, a Kubernetes subPath): the two mounts'
// filesystem paths put dir under the root, and the directory found there is
// dir itself.
func bound(rootDir, dir string) (string, bool) {
	md, err := mountinfo.Lookup(dir)
	if err != nil {
		return "", false
	}
	mr, err := mountinfo.Lookup(rootDir)
	if err != nil || md.Device != mr.Device {
		return "", false
	}
	fsPath := func(m mountinfo.Entry, p string) (string, bool) {
		rel, ok := Lexical(m.MountPoint, p)
		return filepath.Join(m.Root, rel), ok
	}
	fd, ok1 := fsPath(md, dir)
	fr, ok2 := fsPath(mr, rootDir)
	if !ok1 || !ok2 {
		return "", false
	}
	rel, ok := Lexical(fr, fd)
	if !ok {
		return "", false
	}
	a, err1 := os.Stat(dir)
	b, err2 := os.Stat(filepath.Join(rootDir, rel))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return "", false
	}
	return rel, true
}
