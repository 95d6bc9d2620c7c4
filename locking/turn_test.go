package locking

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Turns of one lease on one key exclude each other, also where the holder's
// lock is held (the adopters share it); a turn of another lease or key does
// not wait; the last turn to end leaves no file behind.
func TestTurn(t *testing.T) {
	root, d := newLockDir(t)
	openLocked(t, d, "k") // the holder's lock, which the adopters share
	end, err := d.Turn(ctxTimeout(t, 5*time.Second), "k", "lease-1")
	if err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := d.Turn(short, "k", "lease-1"); !errors.Is(err, ErrNotObtained) {
		t.Fatalf("a second turn while the first is held = %v; want ErrNotObtained", err)
	}
	for _, other := range [][2]string{{"k", "lease-2"}, {"j", "lease-1"}} {
		e, err := d.Turn(ctxTimeout(t, 2*time.Second), other[0], other[1])
		if err != nil {
			t.Fatalf("turn of key %s, lease %s while another's is held = %v; want it at once", other[0], other[1], err)
		}
		e.End()
	}

	got := make(chan error, 1)
	var end2 *TurnLock
	go func() {
		var err error
		end2, err = d.Turn(ctxTimeout(t, 20*time.Second), "k", "lease-1")
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the waiting turn returned %v before the first ended", err)
	case <-time.After(100 * time.Millisecond):
	}
	end.End()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the waiting turn = %v after the first ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting turn was not given once the first ended")
	}
	end2.End()

	ents, err := os.ReadDir(root.Name() + "/" + LocksDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".turn") {
			t.Errorf("turn file %s left after every turn ended", e.Name())
		}
	}
}

// A planted symlink in place of a turn file is refused, never followed.
func TestTurnRefusesSymlink(t *testing.T) {
	root, d := newLockDir(t)
	end, err := d.Turn(ctxTimeout(t, 5*time.Second), "k", "lease-1")
	if err != nil {
		t.Fatal(err)
	}
	// Learn the name, then plant a symlink under it.
	ents, _ := os.ReadDir(root.Name() + "/" + LocksDir)
	var name string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".turn") {
			name = e.Name()
		}
	}
	end.End()
	if name == "" {
		t.Fatal("no turn file while a turn was held")
	}
	outside := t.TempDir() + "/target"
	if err := os.Symlink(outside, root.Name()+"/"+LocksDir+"/"+name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Turn(ctxTimeout(t, 5*time.Second), "k", "lease-1"); err == nil {
		t.Fatal("Turn followed a planted symlink")
	}
	if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}

// A scope handed down in a turn file counts only while its turn is held and
// records it: withdrawn, ended, or left by a holder that died (the file
// unlocked), it does not; a new holder of the turn starts with no record.
func TestTurnHand(t *testing.T) {
	root, d := newLockDir(t)
	ctx := ctxTimeout(t, 5*time.Second)
	handed := func(want bool, when string) {
		t.Helper()
		ok, err := d.Handed("k", "S", "S#child")
		if err != nil || ok != want {
			t.Errorf("Handed %s = %v, %v; want %v", when, ok, err, want)
		}
	}
	tl, err := d.Turn(ctx, "k", "S")
	if err != nil {
		t.Fatal(err)
	}
	handed(false, "before Hand")
	if err := tl.Hand("S#child"); err != nil {
		t.Fatal(err)
	}
	handed(true, "while handed")
	if err := tl.Hand("S#other"); err != nil {
		t.Fatal(err)
	}
	if err := tl.Unhand("S#child"); err != nil {
		t.Fatal(err)
	}
	handed(false, "after the withdrawal")
	if ok, err := d.Handed("k", "S", "S#other"); err != nil || !ok {
		t.Errorf("Handed of a scope still handed down beside a withdrawn one = %v, %v; want true", ok, err)
	}
	if err := tl.Unhand("S#other"); err != nil {
		t.Fatal(err)
	}
	if err := tl.Hand("S#child"); err != nil {
		t.Fatal(err)
	}
	tl.End()
	handed(false, "after End")

	// A holder that died: its file stays, with its record, unlocked.
	p := filepath.Join(root.Name(), TurnPath("k", "S"))
	if err := os.WriteFile(p, []byte("S#child\n"), 0o660); err != nil {
		t.Fatal(err)
	}
	handed(false, "of a holder that died")
	// The moment a new holder has the lock and has not yet cleared the
	// record of one that died: the lock's holder is not the record's writer.
	if err := os.WriteFile(p, []byte("pid=1\nS#child\n"), 0o660); err != nil {
		t.Fatal(err)
	}
	other, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := tryLock(other); err != nil {
		t.Fatal(err)
	}
	handed(false, "of a holder that died, its file locked by another")
	other.Close()
	tl, err = d.Turn(ctx, "k", "S")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.End()
	if b, err := os.ReadFile(p); err != nil || len(b) != 0 {
		t.Errorf("turn file taken again holds %q, %v; want it cleared", b, err)
	}
}
