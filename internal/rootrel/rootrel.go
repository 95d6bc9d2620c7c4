// Package rootrel finds where a directory lies in a root directory when the
// two are reached by different paths: the root's own, a bind mount of the
// root, or a bind mount of one of the root's sub-directories (a Kubernetes
// subPath). The writer and the coordinator both decide with it whether a
// caller's path is a file of the root, so that they never disagree.
package rootrel

import (
	"os"
	"path/filepath"
	"strings"
)

// Lexical returns p relative to base when p is base or lies below it, by
// spelling alone: nothing is resolved and nothing is read from the disk.
func Lexical(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// Dir returns dir relative to rootDir when dir is the root or a directory
// below it. Both must be real (symlinks resolved), absolute paths. The
// decision is made on the directories, not on spelling: dir below rootDir's
// path; else one of dir's ancestors (or dir) is the root itself by device
// and inode (a bind mount of the root has another path); else, on Linux,
// dir shows a directory of the root through another mount of the same
// filesystem (see bound). It reports false when none holds, or when a
// directory it must stat cannot be.
func Dir(rootDir, dir string) (string, bool) {
	if rel, ok := Lexical(rootDir, dir); ok {
		return rel, true
	}
	rootInfo, err := os.Stat(rootDir)
	if err != nil {
		return "", false
	}
	for d := dir; ; {
		if fi, err := os.Stat(d); err == nil && os.SameFile(fi, rootInfo) {
			return Lexical(d, dir)
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	return bound(rootDir, dir)
}
