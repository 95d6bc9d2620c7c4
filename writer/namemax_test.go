package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A name component longer than the filesystem takes is refused when it is
// resolved, also under a missing directory (where no lookup meets it), and
// nothing is created.
func TestOverlongComponentUnderMissingDirectory(t *testing.T) {
	r, dir := openRoot(t)
	long := strings.Repeat("L", 300)
	for _, name := range []string{long, "deep/er/" + long, "deep/" + long + "/f"} {
		if _, err := r.Resolve(name); !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Errorf("Resolve(%.20q...) = %v; want ENAMETOOLONG", name, err)
		}
		if err := r.WriteFile(context.Background(), name, []byte("x"), 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Errorf("WriteFile(%.20q...) = %v; want ENAMETOOLONG", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "deep")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deep: %v; want nothing created", err)
	}
	if _, err := r.Resolve("deep/er/" + strings.Repeat("s", 255)); err != nil {
		t.Fatalf("a 255-byte component: %v; want it taken", err)
	}
}
