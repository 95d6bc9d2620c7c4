package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAppendBadNameEmptyStdin: `append` refuses a bad NAME (outside the root,
// a directory) with exit 5 also when stdin is empty; it checked the name only
// at the first batch and exited 0.
func TestAppendBadNameEmptyStdin(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if err := os.Mkdir(filepath.Join(v.root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../outside.log", "dir"} {
		if r := v.run(t, "", "append", name); r.code != 5 {
			t.Errorf("append %q < /dev/null: exit %d (stderr %q); want 5", name, r.code, r.stderr)
		}
	}
	if r := v.run(t, "x\n", "append", "a.log", "--max-delay", "-1s"); r.code != 2 {
		t.Errorf("append --max-delay -1s: exit %d; want 2 (usage), as for the other negative values", r.code)
	}
}
