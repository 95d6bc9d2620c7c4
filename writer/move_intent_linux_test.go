//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A hard link planted at the name of the move intent's temp must not let the
// intent be written into the file it links to; the file there, not a temp
// this package left, is not removed either: the move is refused (EEXIST) and
// nothing changes.
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
	if err := r.Move(context.Background(), src, "out.csv"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Move: %v; want EEXIST (a file that is not an intent temp is at its name)", err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
		t.Errorf("file hard-linked at the intent temp's name now holds %q; want it untouched", got)
	}
	if _, err := os.Lstat(moveIntentPath(src) + ".tmp"); err != nil {
		t.Errorf("the link at the intent temp's name: %v; want it left", err)
	}
	if got, _ := os.ReadFile(src); string(got) != "payload\n" {
		t.Errorf("src = %q; want it untouched", got)
	}
	if _, err := os.Lstat(filepath.Join(r.Dir(), "out.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dst after the refused move: %v; want it absent", err)
	}
}

// A file at a move intent's name that is not an intent (someone's own file
// beside the source) is left, and the move refused (EEXIST): it was removed
// as an unreadable intent. What a crash left of an intent being written (the
// start of one at the temp's name) is still removed, and the move goes on.
// Inside the root those names are refused as targets, like the temps'.
func TestMoveLeavesFileAtIntentName(t *testing.T) {
	r, err := Open(testrig.Tmpfs(t, "16m")) // another device: the copy path writes an intent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx := context.Background()
	spool := t.TempDir()
	src := filepath.Join(spool, "report.csv")
	mustWrite(t, src, "a,b\n", 0o644)
	mine := moveIntentPath(src)
	mustWrite(t, mine, "my notes\n", 0o644)
	if err := r.Move(ctx, src, "report.csv"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Move with someone's file at the intent's name: %v; want EEXIST", err)
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "my notes\n" {
		t.Errorf("the file at the intent's name: %q, %v; want it untouched", b, err)
	}
	if b, _ := os.ReadFile(src); string(b) != "a,b\n" {
		t.Errorf("src = %q; want it untouched", b)
	}

	if err := os.Remove(mine); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, mine+".tmp", `{"v":1,"sr`, 0o600) // a crash while the intent was written
	if err := r.Move(ctx, src, "report.csv"); err != nil {
		t.Fatalf("Move with a torn intent temp left by a crash: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(r.Dir(), "report.csv")); string(b) != "a,b\n" {
		t.Errorf("dst = %q; want the moved content", b)
	}
	for _, n := range []string{mine, mine + ".tmp"} {
		if _, err := os.Lstat(n); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the move: %v; want it gone", n, err)
		}
	}

	for _, name := range []string{".k.sw-move.intent", ".k.sw-move.intent.tmp"} {
		if err := r.WriteFile(ctx, name, []byte("x"), 0o644); !errors.Is(err, ErrInvalidName) {
			t.Errorf("WriteFile(%q) = %v; want ErrInvalidName (a move intent's name)", name, err)
		}
	}
}
