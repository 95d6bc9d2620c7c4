package coordinator

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTxCompletionKeepsStagedFileWhoseTargetDirIsGone: an intent whose
// staged temps lie in the temp directory (WithTempDir, which checkStaged
// admits) names y/b, whose directory y is gone. The rename of y/b's temp
// fails with ENOENT although the temp is there: that target cannot take its
// file yet; its temp was not renamed already. The holder of k, the intent's
// other key, completes k but does not log the transaction as completed, and
// the intent stays with y/b's temp (Sweep keeps it); once y is back, Sweep
// completes the transaction.
func TestTxCompletionKeepsStagedFileWhoseTargetDirIsGone(t *testing.T) {
	root := t.TempDir()
	c, logs := captureLogs(t, local, root, WithTempDir("spool"))
	ctx := ctxT(t, 30*time.Second)
	staged := func(target, temp, content string) txEntry {
		mustWrite(t, filepath.Join(root, temp), content)
		sum := sha256.Sum256([]byte(content))
		return txEntry{Target: target, Temp: temp, Token: 1, LeaseID: "planted", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	}
	yb := staged("y/b", "spool/.b.sw.h.1.1.00000000.tmp", "y/b=new")
	plantIntent(t, c, ctx, txIntent{Entries: []txEntry{staged("k", "spool/.k.sw.h.1.1.00000000.tmp", "k=new"), yb}})

	if err := c.WriteFile(ctx, "k", []byte("mine"), 0o644); err != nil {
		t.Fatalf("WriteFile(k) = %v", err)
	}
	if out := logs.String(); strings.Contains(out, completedMsg) {
		t.Errorf("logs claim the transaction completed although y/b could not take its file:\n%s", out)
	}
	if n := txIntents(t, root); n != 1 {
		t.Errorf("%d intents with y/b's directory gone; want the intent kept", n)
	}
	if _, err := c.Sweep(ctx, 0); err == nil {
		t.Errorf("Sweep with y/b's directory gone = nil; want the intent's failure")
	}
	if _, err := os.Lstat(filepath.Join(root, yb.Temp)); err != nil {
		t.Fatalf("y/b's staged temp after the completion and Sweep: %v; want it kept for the intent", err)
	}

	if err := os.Mkdir(filepath.Join(root, "y"), 0o755); err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Sweep(ctx, 0); err != nil || rep.IntentsCompleted != 1 {
		t.Errorf("Sweep once y is back: %+v, %v; want the intent completed", rep, err)
	}
	if got := readFile(t, filepath.Join(root, "y/b")); got != "y/b=new" {
		t.Errorf("y/b = %q; want y/b=new", got)
	}
	if n := txIntents(t, root); n != 0 {
		t.Errorf("%d intents after the completion; want none", n)
	}
}
