package coordinator

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSweepRacingTxIntents: Sweep with no grace period, run in a loop while
// transactions commit, never takes an intent being written for a torn one
// (an intent is written whole under a temp name and renamed into place); it
// discarded such an intent, the commit point of a transaction that then went
// on to report committed. Every transaction that returns nil has all its
// files at its version.
func TestSweepRacingTxIntents(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 60*time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var discarded int
	var sweepErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			rep, err := c.Sweep(ctx, 0)
			if err != nil && sweepErr == nil {
				sweepErr = err
			}
			discarded += rep.IntentsDiscarded
		}
	}()
	committed := 0
	for i := range 150 {
		v := fmt.Sprint(i)
		if err := c.Tx(ctx, namedTxFiles(v, "a", "b")); err != nil {
			continue // its intent's temp swept before the rename: not committed
		}
		committed++
		for _, n := range []string{"a", "b"} {
			if got := readFile(t, filepath.Join(root, n)); got != n+"="+v {
				t.Fatalf("after Tx %s returned nil: %s = %q; want %q", v, n, got, n+"="+v)
			}
		}
	}
	close(stop)
	wg.Wait()
	if sweepErr != nil {
		t.Errorf("Sweep: %v", sweepErr)
	}
	if discarded != 0 {
		t.Errorf("Sweep discarded %d intents as torn while transactions wrote them", discarded)
	}
	if committed == 0 {
		t.Errorf("no transaction committed while Sweep ran")
	}
	t.Logf("%d of 150 transactions committed beside Sweep(0)", committed)
}

// TestSweepIntentTemps: an intent's temp left by a writer that died is
// removed once older than the grace period, a young one is kept, and neither
// is read as an intent.
func TestSweepIntentTemps(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.Tx(ctx, namedTxFiles("1", "a")); err != nil { // makes .sharedwrite/tx
		t.Fatal(err)
	}
	tx := filepath.Join(root, txDir)
	old, young := filepath.Join(tx, "0123abcd-0001"+intentTempSuffix), filepath.Join(tx, "0123abcd-0002"+intentTempSuffix)
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte(`{"id":`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sweep(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.IntentTemps != 1 || rep.IntentsDiscarded != 0 {
		t.Errorf("Sweep: %d intent temps removed, %d intents discarded; want 1 and 0", rep.IntentTemps, rep.IntentsDiscarded)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old intent temp is still there (%v)", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young intent temp was removed: %v", err)
	}
}
