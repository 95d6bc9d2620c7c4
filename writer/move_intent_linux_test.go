//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A hard link planted at the name of the move intent's temp must not let the
// intent be written into the file it links to.
func TestMoveIntentTempPlantedHardLink(t *testing.T) {
	spool := t.TempDir()
	r, err := Open(testrig.Tmpfs(t, "16m")) // another device: the copy path writes an intent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	src := filepath.Join(spool, "out.csv")
	if err := os.WriteFile(src, []byte("payload\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(spool, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(victim, moveIntentPath(src)+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := r.Move(context.Background(), src, "out.csv"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
		t.Errorf("file hard-linked at the intent temp's name now holds %q; want it untouched", got)
	}
	if got, _ := os.ReadFile(filepath.Join(r.Dir(), "out.csv")); string(got) != "payload\n" {
		t.Errorf("dst = %q; want %q", got, "payload\n")
	}
}
