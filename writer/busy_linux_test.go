package writer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// Busy tells a file bind-mounted onto a name (which rename cannot replace)
// from a plain file and from a missing name.
func TestBusy(t *testing.T) {
	r, dir := openRoot(t)
	for _, name := range []string{"plain", "mounted"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	testrig.BindMount(t, other, filepath.Join(dir, "mounted"))
	for name, want := range map[string]bool{"plain": false, "mounted": true, "missing": false} {
		if got, err := r.Busy(name); err != nil || got != want {
			t.Errorf("Busy(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := r.Busy("../x"); err == nil {
		t.Error("Busy(../x) = nil error; want the name refused")
	}
}
