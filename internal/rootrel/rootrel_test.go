package rootrel

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLexical(t *testing.T) {
	base := filepath.FromSlash("/vol/root")
	tests := []struct {
		name, p, want string
		ok            bool
	}{
		{"the base", "/vol/root", ".", true},
		{"below", "/vol/root/a/b", filepath.FromSlash("a/b"), true},
		{"parent", "/vol", "", false},
		{"sibling sharing a prefix", "/vol/rootx/a", "", false},
		{"dot-dot name below", "/vol/root/..a", "..a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lexical(base, filepath.FromSlash(tt.p))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Lexical(%q, %q) = %q, %v; want %q, %v", base, tt.p, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// Without another mount, Dir finds a directory of the root by its path, and
// none outside it, also one beside it whose name starts like the root's.
func TestDir(t *testing.T) {
	parent, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "root")
	for _, d := range []string{"root/a/b", "rootx", "other"} {
		if err := os.MkdirAll(filepath.Join(parent, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, dir, want string
		ok              bool
	}{
		{"the root", "root", ".", true},
		{"below", "root/a/b", filepath.FromSlash("a/b"), true},
		{"the parent", ".", "", false},
		{"beside, same prefix", "rootx", "", false},
		{"beside", "other", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(parent, filepath.FromSlash(tt.dir))
			got, ok := Dir(root, dir)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Dir(%q, %q) = %q, %v; want %q, %v", root, dir, got, ok, tt.want, tt.ok)
			}
		})
	}
}
