package locking

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A turn ended (its file removed) leaves its mark in the file for whoever
// still has it open and takes its lock next: that waiter moves on even where
// the name's stat and its descriptor's seem to agree (a FUSE filesystem that
// answers fstat by the old name). A turn file that is taken again is not
// marked.
func TestEndedTurnIsMarked(t *testing.T) {
	root, d := newLockDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := d.Turn(ctx, "k", "scope")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root.Name(), TurnPath("k", "scope"))
	waiter, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	if endedTurn(waiter) {
		t.Fatal("a held turn's file reads as ended")
	}
	tl.End()
	if !endedTurn(waiter) {
		t.Fatal("the file of an ended turn is not marked ended")
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("turn file after End: %v; want it removed", err)
	}
	// The next turn is a new file, not marked.
	tl, err = d.Turn(ctx, "k", "scope")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.End()
	next, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if endedTurn(next) {
		t.Fatal("a new turn's file reads as ended")
	}
}
