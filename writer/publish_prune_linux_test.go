//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestPublishDirPruneFailureStillCommitted: once the symlink points at the
// new version the publish is made; an old version that cannot be pruned
// (here: a directory in it is a mount point, EBUSY) must not turn that into
// an error that says nothing changed.
func TestPublishDirPruneFailureStillCommitted(t *testing.T) {
	testrig.NeedRoot(t)
	r, dir := openRoot(t)
	ctx := context.Background()
	fill := func(content string) func(string) error {
		return func(d string) error {
			if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, "index.html"), []byte(content), 0o644)
		}
	}
	if err := r.PublishDir(ctx, "site", fill("v1"), 0); err != nil {
		t.Fatalf("first PublishDir: %v", err)
	}
	v1, err := os.Readlink(filepath.Join(dir, "site"))
	if err != nil {
		t.Fatal(err)
	}
	testrig.BindMount(t, t.TempDir(), filepath.Join(dir, v1, "sub"))

	err = r.PublishDir(ctx, "site", fill("v2"), 0)
	if got := readString(t, filepath.Join(dir, "site", "index.html")); got != "v2" {
		t.Fatalf("site/index.html: got %q; want %q (PublishDir: %v)", got, "v2", err)
	}
	if err != nil && !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("PublishDir with site switched to the new version: %v; want nil (committed), not an error that means nothing changed", err)
	}
	if ents, _ := os.ReadDir(dir); !strings.Contains(func() string {
		var s []string
		for _, e := range ents {
			s = append(s, e.Name())
		}
		return strings.Join(s, " ")
	}(), v1) {
		t.Errorf("the old version %s with a mount point in it was removed; want it kept", v1)
	}
}
