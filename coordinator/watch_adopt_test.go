package coordinator

import (
	"path/filepath"
	"testing"
	"time"
)

// TestStaleWindowPartialNFSOptions: an NFS mount whose options name
// only some of the attribute-cache times keeps the defaults of the others
// (/proc/self/mountinfo lists only the values that differ from the
// defaults: acregmin=3, acregmax=60, acdirmin=30, acdirmax=60), so the window
// is twice the longest of the times in effect, defaults included.
func TestStaleWindowPartialNFSOptions(t *testing.T) {
	for _, tc := range []struct {
		fstype string
		opts   string
		want   time.Duration
	}{
		// acdirmax (and acregmax) keep their default of 60 s.
		{"nfs4", "rw,vers=4.2,acregmin=1", 120 * time.Second},
		// acdirmax keeps its default of 60 s.
		{"nfs4", "rw,vers=4.2,acregmax=10", 120 * time.Second},
		// acregmax keeps its default of 60 s.
		{"nfs", "rw,acdirmax=5,acdirmin=5", 120 * time.Second},
	} {
		if got := staleWindowFor(tc.fstype, splitOpts(tc.opts)); got != tc.want {
			t.Errorf("staleWindowFor(%s, %s) = %v; want %v", tc.fstype, tc.opts, got, tc.want)
		}
	}
}

// TestWatchInitialAdoptsFileEditedOutside: with WatchInitial, a file that
// was edited outside sharedwrite after its last commit (it matches no
// recorded version after the stale-view window) is, per DESIGN "Fresh read
// (... Watch)", adopted with a warning: the replica starting with
// init-once-then-watch gets its initial content.
func TestWatchInitialAdoptsFileEditedOutside(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithStaleWindow(200*time.Millisecond))
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(root, "cfg"), "edited")
			// ReadFile and Update adopt it after the window.
			if data, err := c.ReadFile(ctx, "cfg"); err != nil || string(data) != "edited" {
				t.Fatalf("ReadFile = %q, %v; want the adopted \"edited\"", data, err)
			}
			w := startWatch(t, c, "cfg", WatchInitial(), WatchInterval(50*time.Millisecond))
			w.waitFor(t, 5*time.Second, "an initial delivery", func(Change) bool { return true })
		})
	}
}
