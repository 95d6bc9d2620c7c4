//go:build linux

package mountinfo

import "testing"

func TestLookupRoot(t *testing.T) {
	e, err := Lookup(t.TempDir())
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if e.MountPoint == "" || e.FSType == "" || len(e.MountOptions) == 0 {
		t.Fatalf("Lookup(TempDir): got %+v; want a mount point, type and options", e)
	}
}
