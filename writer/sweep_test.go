//go:build unix

package writer

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// plantTemp creates a temp-named file in dir for host, aged by age.
func plantTemp(t *testing.T, dir, target, host string, age time.Duration) string {
	t.Helper()
	name := "." + target + ".sw." + host + ".4242." + strconv.Itoa(12345) + ".0badf00d.tmp"
	if _, ok := parseTempName(name); !ok {
		t.Fatalf("planted name %q is not a temp name", name)
	}
	p := filepath.Join(dir, name)
	mustWrite(t, p, "orphan", 0o600)
	old := time.Now().Add(-age)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestSweepTemps(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	me := tempHost()
	orphan := plantTemp(t, filepath.Join(dir, "sub"), "a", me, 2*time.Hour)
	young := plantTemp(t, dir, "b", me, time.Minute)
	// Another host's temp with an mtime two days old and a ctime of now: a
	// live writer's with KeepMtime (its temp has the target's mtime), whose
	// flock is not seen from here. Its age is its last change.
	otherBackdated := plantTemp(t, dir, "c", "otherhost", 48*time.Hour)
	state := plantTemp(t, filepath.Join(dir, ".sharedwrite", "tx"), "e", me, 2*time.Hour)
	plain := filepath.Join(dir, "plain.tmp")
	mustWrite(t, plain, "not a temp", 0o644)
	if err := os.Chtimes(plain, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// A live writer of this process: its temp is flocked (and made old).
	w, err := r.Create(ctx, "live", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write([]byte("in progress")); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, w.TempName())
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(live, old, old); err != nil {
		t.Fatal(err)
	}

	rep, err := r.Sweep(ctx, time.Hour)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	for _, c := range []struct {
		what string
		path string
		want bool
	}{
		{"orphan temp of this host older than the grace", orphan, false},
		{"young temp of this host", young, true},
		{"other host's temp changed just now, mtime two days old", otherBackdated, true},
		{"temp under .sharedwrite", state, true},
		{"file not named like a temp", plain, true},
		{"live (flocked) temp", live, true},
	} {
		if got := exists(c.path); got != c.want {
			t.Errorf("%s: exists after Sweep = %v; want %v", c.what, got, c.want)
		}
	}
	want := SweepReport{Scanned: 4, Removed: 1, Live: 1, Young: 2, OtherHost: 1}
	if rep != want {
		t.Errorf("report: got %+v; want %+v", rep, want)
	}

	// A shorter other-host grace removes other hosts' temps unchanged for
	// longer than it, and keeps one changed since. (This host's minute-old
	// temp goes too: the grace is never shorter than olderThan, here the
	// same.)
	otherNew := plantTemp(t, dir, "d", "otherhost", 0)
	time.Sleep(300 * time.Millisecond)
	otherNewer := plantTemp(t, dir, "e", "otherhost", 0)
	rep, err = r.Sweep(ctx, 200*time.Millisecond, OtherHostGrace(200*time.Millisecond))
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if exists(otherBackdated) || exists(otherNew) || !exists(otherNewer) || exists(young) || rep.Removed != 3 {
		t.Errorf("with OtherHostGrace(200ms): exist %v %v %v, removed %d; want the two unchanged for 300ms gone, the new one kept (and this host's old one gone)",
			exists(otherBackdated), exists(otherNew), exists(otherNewer), rep.Removed)
	}

	// The live writer is unharmed.
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit after Sweep: %v", err)
	}
	if got := readString(t, filepath.Join(dir, "live")); got != "in progress" {
		t.Errorf("live content: got %q; want %q", got, "in progress")
	}
}

// plantInPlace leaves what a rewrite of name from oldData to newData that
// crashed with target content cur leaves: backup, marker, partial target.
func plantInPlace(t *testing.T, r *Root, dir, name string, oldData, newData, cur []byte, marker []byte) {
	t.Helper()
	mRel, bRel := inPlaceNames(name)
	mustWrite(t, filepath.Join(dir, name), string(cur), 0o644)
	mustWrite(t, filepath.Join(dir, bRel), string(oldData), 0o600)
	if marker == nil {
		marker = inPlaceIntent{Target: filepath.Base(name), OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData),
			NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}.encode()
	}
	mustWrite(t, filepath.Join(dir, mRel), string(marker), 0o600)
}

func TestSweepSettlesInPlaceIntents(t *testing.T) {
	r, dir := openRoot(t)
	oldData, newData := []byte("old content, the longer one"), []byte("new content")
	// partial: new bytes over the start of the old, not yet truncated.
	partial := append(append([]byte{}, newData...), oldData[len(newData):]...)
	plantInPlace(t, r, dir, "torn", oldData, newData, partial, nil)
	plantInPlace(t, r, dir, "complete", oldData, newData, newData, nil)
	plantInPlace(t, r, dir, "untouched", oldData, newData, oldData, nil)
	full := inPlaceIntent{Target: "tornmarker", OldSize: 1, NewSize: 2}.encode()
	plantInPlace(t, r, dir, "tornmarker", oldData, newData, oldData, full[:len(full)-10])
	// A backup without a marker (crash after the marker was removed).
	_, lone := inPlaceNames("lone")
	mustWrite(t, filepath.Join(dir, lone), "stale backup", 0o600)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, lone), old, old); err != nil {
		t.Fatal(err)
	}

	rep, err := r.Sweep(context.Background(), time.Hour)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	for name, want := range map[string][]byte{"torn": oldData, "complete": newData, "untouched": oldData, "tornmarker": oldData} {
		if got := readString(t, filepath.Join(dir, name)); got != string(want) {
			t.Errorf("%s after Sweep: got %q; want %q", name, got, want)
		}
		m, b := inPlaceNames(name)
		if exists(filepath.Join(dir, m)) || exists(filepath.Join(dir, b)) {
			t.Errorf("%s: marker or backup left after Sweep", name)
		}
	}
	if exists(filepath.Join(dir, lone)) {
		t.Errorf("backup without a marker left after Sweep")
	}
	if rep.Restored != 1 || rep.Completed != 1 || rep.Discarded != 2 || rep.Removed != 1 {
		t.Errorf("report %+v; want Restored 1, Completed 1, Discarded 2, Removed 1", rep)
	}
}

// Another host's temp is never removed sooner than this host's: the
// other-host grace is at least olderThan. clean --older-than 48h removed
// another host's temp of 30 h (past the 24 h grace) and kept this host's.
func TestSweepOtherHostGraceAtLeastOlderThan(t *testing.T) {
	r, dir := openRoot(t)
	other := plantTemp(t, dir, "a", "otherhost", 0)
	time.Sleep(300 * time.Millisecond)
	rep, err := r.Sweep(context.Background(), time.Hour, OtherHostGrace(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !exists(other) || rep.Removed != 0 {
		t.Errorf("Sweep(1h) with OtherHostGrace(100ms) of another host's temp unchanged for 300ms: exists %v, removed %d; want kept (not before 1h)", exists(other), rep.Removed)
	}
}
