package writer

import (
	"context"
	"slices"
	"testing"
)

// TestMkdirAllSyncsNewEntries: a directory MkdirAll reports made must survive
// a crash, so the directory holding each new entry is fsynced (the Observe
// events show which); directories that existed already cost no fsync.
func TestMkdirAllSyncsNewEntries(t *testing.T) {
	r, _ := openRoot(t)
	ctx := context.Background()
	if err := r.MkdirAll(ctx, "x", 0o755); err != nil {
		t.Fatal(err)
	}
	var synced []string
	obs := Observe(func(e Event) {
		if e.Step == "dirsync" && e.Err == nil {
			synced = append(synced, e.Path)
		}
	})
	if err := r.MkdirAll(ctx, "x/a/b", 0o755, obs); err != nil {
		t.Fatalf("MkdirAll: %v", err)
	}
	slices.Sort(synced)
	if want := []string{"x", "x/a"}; !slices.Equal(synced, want) {
		t.Errorf("directories fsynced: got %q; want %q", synced, want)
	}
	synced = nil
	if err := r.MkdirAll(ctx, "x/a/b", 0o755, obs); err != nil {
		t.Fatalf("MkdirAll again: %v", err)
	}
	if len(synced) != 0 {
		t.Errorf("MkdirAll of an existing tree fsynced %q; want nothing", synced)
	}
}
