package writer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openRoot opens a fresh Root on a new temp directory.
func openRoot(t testing.TB) (*Root, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// temps lists temp files (per the naming contract) anywhere under dir.
func temps(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isTempName(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

func mustWrite(t testing.TB, p string, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func readString(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func noTemps(t testing.TB, dir string) {
	t.Helper()
	if tt := temps(t, dir); len(tt) > 0 {
		t.Errorf("temps left: %s", strings.Join(tt, ", "))
	}
}
