package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func checkTx(t *testing.T, root, want string) {
	t.Helper()
	for _, f := range txFiles(want) {
		if got := readFile(t, filepath.Join(root, f.Name)); got != string(f.Data) {
			t.Errorf("%s = %q; want %q", f.Name, got, f.Data)
		}
	}
}

func txIntents(t *testing.T, root string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(root, txDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestTxCommits(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	if err := c.Tx(ctx, txFiles("new")); err != nil {
		t.Fatal(err)
	}
	checkTx(t, root, "new")
	if n := txIntents(t, root); n != 0 {
		t.Fatalf("%d intents left; want 0", n)
	}
	for _, f := range txFiles("new") {
		rec, err := c.peekRecord(f.Name)
		if err != nil || rec.Committed.Size != int64(len(f.Data)) || rec.Committed.Intent == "" {
			t.Fatalf("record of %s: %+v, %v; want committed with the intent id", f.Name, rec.Committed, err)
		}
	}
}

func TestTxFailureBeforeCommitPoint(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	txBeforeIntent = func() error { return boom }
	defer func() { txBeforeIntent = nil }()
	if err := c.Tx(ctx, txFiles("new")); !errors.Is(err, boom) {
		t.Fatalf("Tx = %v; want boom", err)
	}
	txBeforeIntent = nil
	checkTx(t, root, "old")
	// A directory where a target should be: the commit fails before its hook.
	files := append(txFiles("new"), TxFile{Name: "tx/dir", Data: []byte("x")})
	if err := os.MkdirAll(filepath.Join(root, "tx/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Tx(ctx, files); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Tx with a directory target = %v; want ErrNotRegular", err)
	}
	checkTx(t, root, "old")
	if n := txIntents(t, root); n != 0 {
		t.Fatalf("%d intents left; want 0", n)
	}
	leftovers, _ := filepath.Glob(filepath.Join(root, "tx", ".*.tmp"))
	if len(leftovers) != 0 {
		t.Fatalf("temps left: %v", leftovers)
	}
}

// A transaction SIGKILLed between two renames is completed by whoever next
// takes one of its keys; one killed before its commit point stays all old.
func TestTxCrash(t *testing.T) {
	for _, m := range modes {
		for _, tc := range []struct {
			role, want string
			intents    int
		}{
			{"tx-crash-after-rename", "new", 1},
			{"tx-crash-before-intent", "old", 0},
		} {
			t.Run(string(m)+"/"+tc.role, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				ctx := ctxT(t, time.Minute)
				if err := c.Tx(ctx, txFiles("old")); err != nil {
					t.Fatal(err)
				}
				redisURL := ""
				if m == rds {
					redisURL = needRedis(t).URL()
				}
				cmd := child(t, tc.role, "SW_ROOT="+root, "SW_REDIS="+redisURL, "SW_TTL=1s")
				err := cmd.Run()
				if s := exitStatus(err); s != -1 {
					t.Fatalf("child exited %d (%v); want killed", s, err)
				}
				if n := txIntents(t, root); n != tc.intents {
					t.Fatalf("%d intents after the crash; want %d", n, tc.intents)
				}
				if tc.intents == 1 {
					// Torn state visible: a renamed, b and c not yet.
					if got := readFile(t, filepath.Join(root, "tx/a")); got != "a-new" {
						t.Fatalf("tx/a after crash = %q; want a-new", got)
					}
					if got := readFile(t, filepath.Join(root, "tx/c")); got != "c-old" {
						t.Fatalf("tx/c after crash = %q; want c-old", got)
					}
				}
				// Any operation on one of the keys completes or discards.
				var seen string
				if err := c.Update(ctx, "tx/c", func(old []byte, _ bool) ([]byte, error) {
					seen = string(old)
					return old, nil
				}); err != nil {
					t.Fatal(err)
				}
				if seen != "c-"+tc.want {
					t.Fatalf("Update of tx/c read %q; want c-%s", seen, tc.want)
				}
				checkTx(t, root, tc.want)
				if n := txIntents(t, root); n != 0 {
					t.Fatalf("%d intents left; want 0", n)
				}
				// b's record promotes the renamed version without a warning.
				rec, err := c.peekRecord("tx/b")
				if err != nil {
					t.Fatal(err)
				}
				ct, v, err := c.freshRead(ctx, "tx/b", rec, false, 0)
				if err != nil || v == nil || string(ct.Data) != "b-"+tc.want {
					t.Fatalf("fresh read of tx/b: %q, matched %v, %v; want b-%s matching a recorded version", ct.Data, v != nil, err, tc.want)
				}
				rep, err := c.Sweep(context.Background(), 0)
				if err != nil {
					t.Fatalf("Sweep: %v", err)
				}
				if tc.want == "old" && rep.Removed == 0 {
					t.Fatalf("Sweep removed %d temps; want the crashed transaction's", rep.Removed)
				}
			})
		}
	}
}

// crashedTx returns a root (and a local-mode coordinator on it) where a
// transaction from txFiles("old") to txFiles("new") was killed after its
// commit point: its intent written, tx/a renamed, the others not.
func crashedTx(t *testing.T) (string, *Coordinator, context.Context) {
	t.Helper()
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	if s := exitStatus(child(t, "tx-crash-after-rename", "SW_ROOT="+root).Run()); s != -1 {
		t.Fatalf("child exited %d; want killed", s)
	}
	return root, c, ctx
}

// Sweep completes a transaction a crashed holder left committed.
func TestSweepCompletesIntent(t *testing.T) {
	root, c, ctx := crashedTx(t)
	rep, err := c.Sweep(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rep.IntentsCompleted != 1 {
		t.Fatalf("IntentsCompleted = %d; want 1", rep.IntentsCompleted)
	}
	checkTx(t, root, "new")
	if n := txIntents(t, root); n != 0 {
		t.Fatalf("%d intents left; want 0", n)
	}
	for _, f := range txFiles("new") {
		rec, err := c.peekRecord(f.Name)
		if err != nil || rec.Committed.Size != int64(len(f.Data)) || rec.Committed.Token != rec.Pending.Token {
			t.Fatalf("record of %s after Sweep: %+v, %v; want the transaction's version committed", f.Name, rec, err)
		}
	}
}

// TestTxAbortRemovesSharedNewDir: a transaction that fails before its commit
// point removes the new directory its files share. Each file's Abort removes
// only the directories its own Create made, when empty: the first file's
// directory held the later files' temps when the aborts ran in key order (or
// raced), and stayed.
func TestTxAbortRemovesSharedNewDir(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	boom := errors.New("boom")
	txBeforeIntent = func() error { return boom }
	t.Cleanup(func() { txBeforeIntent = nil })
	for i := range 5 {
		dir := "hooked" + string(rune('0'+i))
		if err := c.Tx(ctx, namedTxFiles("new", dir+"/a", dir+"/b", dir+"/c")); !errors.Is(err, boom) {
			t.Fatalf("Tx = %v; want boom", err)
		}
		if _, err := os.Lstat(filepath.Join(root, dir)); !errors.Is(err, fs.ErrNotExist) {
			es, _ := os.ReadDir(filepath.Join(root, dir))
			t.Errorf("%s after a Tx that failed in its commit hook: %v (entries %v); want it removed", dir, err, es)
		}
	}
	txBeforeIntent = nil
	// A later file's Create fails (its target is a directory).
	if err := os.MkdirAll(filepath.Join(root, "z/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Tx(ctx, namedTxFiles("new", "created/a", "created/b", "z/dir")); err == nil {
		t.Fatal("Tx with a directory as a target = nil; want an error")
	}
	if _, err := os.Lstat(filepath.Join(root, "created")); !errors.Is(err, fs.ErrNotExist) {
		es, _ := os.ReadDir(filepath.Join(root, "created"))
		t.Errorf("created after a Tx whose last Create failed: %v (entries %v); want it removed", err, es)
	}
}
