//go:build unix

package writer

import (
	"context"
	"crypto/sha256"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSweepPlantedMarkerTouchesOnlyItsOwnFile: an in-place marker is only a
// file in a directory, which anyone who can write there can plant, with a
// valid checksum. Its target must be the file it is named for, in its own
// directory: a marker naming another file (a sibling, or one in another
// directory through "..") must never make Sweep, run perhaps by a more
// privileged user, write a planted backup over that file.
func TestSweepPlantedMarkerTouchesOnlyItsOwnFile(t *testing.T) {
	evil := []byte("planted content")
	for _, tc := range []struct {
		name   string
		marker string // marker's target, as named in the marker
		victim string // root-relative file that must stay intact
	}{
		{"parent directory", "../victim", "victim"},
		{"two levels up", "../../victim", "victim"},
		{"deeper directory", "../other/victim", "other/victim"},
		{"sibling", "victim", "a/victim"},
		{"dot", ".", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			precious := "precious content, not to be replaced"
			if tc.victim != "a" {
				mustWrite(t, filepath.Join(dir, tc.victim), precious, 0o644)
			}
			// The marker sits in a/ under the name of a/planted, a file that
			// does not exist, and names tc.marker; its backup is the planted
			// content and matches the marker's "old" checksum.
			mRel, bRel := inPlaceNames("a/planted")
			mustWrite(t, filepath.Join(dir, bRel), string(evil), 0o600)
			in := inPlaceIntent{Target: tc.marker, OldSize: int64(len(evil)), OldSum: sha256.Sum256(evil), NewSize: 3, NewSum: sha256.Sum256([]byte("new"))}
			mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)

			_, _ = r.Sweep(context.Background(), time.Hour)

			if tc.victim != "a" {
				if got := readString(t, filepath.Join(dir, tc.victim)); got != precious {
					t.Errorf("%s after Sweep: got %q; want %q", tc.victim, got, precious)
				}
			}
			if exists(filepath.Join(dir, mRel)) {
				t.Errorf("marker naming %q left after Sweep; want it discarded", tc.marker)
			}
		})
	}
}

// TestInPlaceMarkerNamedByLongName: a target name long enough that its marker
// name is shortened (with a hash) is still recognised as the marker's own.
func TestInPlaceMarkerNamedByLongName(t *testing.T) {
	for _, base := range []string{"a", strings.Repeat("n", 250), strings.Repeat("é", 120)} {
		m, _ := inPlaceNames("d/" + base)
		if !(inPlaceIntent{Target: base}).namedBy(path.Base(m)) {
			t.Errorf("marker %q not recognised as that of %q", path.Base(m), base)
		}
		if (inPlaceIntent{Target: base + "x"}).namedBy(path.Base(m)) {
			t.Errorf("marker %q taken as that of %q", path.Base(m), base+"x")
		}
	}
}
