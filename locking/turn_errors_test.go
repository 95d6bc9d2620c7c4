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

// Turn returns within its context's deadline (an error naming the turn file,
// or the turn) when the locks directory it opened is no longer the one its
// path names (moved away and made again while the process runs): it never
// loops without end.
func TestTurnLocksDirReplaced(t *testing.T) {
	root, d := newLockDir(t)
	locks := filepath.Join(root.Name(), LocksDir)
	if err := os.Rename(locks, locks+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(locks, 0o770); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		end, err := d.Turn(ctxTimeout(t, time.Second), "k", "lease-1")
		if err == nil {
			end.End()
		}
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("Turn still running 10s after its 1s deadline")
		// Put the directory back so that the loop can end.
		if err := os.Remove(locks); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(locks+".old", locks); err != nil {
			t.Fatal(err)
		}
		<-done
	}
}

// A turn not obtained in time says so with the step and the turn file's path
// (not only the key, which reads as the key's lock file).
func TestTurnNotObtainedNamesTurnFile(t *testing.T) {
	_, d := newLockDir(t)
	end, err := d.Turn(ctxTimeout(t, 5*time.Second), "k", "lease-1")
	if err != nil {
		t.Fatal(err)
	}
	defer end.End()
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = d.Turn(short, "k", "lease-1")
	if !errors.Is(err, ErrNotObtained) {
		t.Fatalf("Turn while held = %v; want ErrNotObtained", err)
	}
	if msg := err.Error(); !strings.Contains(msg, LocksDir+"/") || !strings.Contains(msg, ".turn") {
		t.Errorf("Turn's error %q does not name the turn file", msg)
	}
}
