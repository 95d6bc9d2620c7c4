package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// namedTxFiles is a transaction writing "<name>=<v>" to each of names.
func namedTxFiles(v string, names ...string) []TxFile {
	fs := make([]TxFile, len(names))
	for i, n := range names {
		fs[i] = TxFile{Name: n, Data: []byte(n + "=" + v)}
	}
	return fs
}

// crashOverOld commits names at their old version with c (in mode m, on
// root), then runs the crash child over them (crashTx): killed past its
// commit point, its new versions staged and not all renamed.
func crashOverOld(t *testing.T, ctx context.Context, c *Coordinator, m mode, root string, names []string) {
	t.Helper()
	if err := c.Tx(ctx, namedTxFiles("old", names...)); err != nil {
		t.Fatal(err)
	}
	var env []string
	if m == rds {
		env = append(env, "SW_REDIS="+needRedis(t).URL(), "SW_TTL=1s")
	}
	crashTx(t, root, 0, names, env...)
}

// crashTx runs the crash child on root and checks that it was killed.
func crashTx(t *testing.T, root string, killAt int, names []string, env ...string) {
	t.Helper()
	env = append(env, "SW_ROOT="+root, "SW_KILL_AT="+strconv.Itoa(killAt), "SW_FILES="+strings.Join(names, ","))
	cmd := child(t, "tx-crash-after-rename", env...)
	if s := exitStatus(cmd.Run()); s != -1 {
		t.Fatalf("crash child exited %d; want killed", s)
	}
}

// TestTxCompletionPastUnrenamableTarget: a transaction killed after its first
// rename, then a directory made where one of its other files goes. The other
// keys stay usable: taking one completes its own file and leaves the intent
// for the blocked one, instead of failing every key of the transaction until
// someone removes the directory. Once it is gone, the next holder completes
// the transaction.
func TestTxCompletionPastUnrenamableTarget(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	crashTx(t, root, 0, []string{"q/a", "q/b", "q/c"})
	if err := c.MkdirAll(ctx, "q/b", 0o755); err != nil {
		t.Fatal(err)
	}
	// An update of q/c takes its key: it completes q/c and reads it.
	seen := func(name string) string {
		var got string
		err := c.Update(ctx, name, func(old []byte, _ bool) ([]byte, error) {
			got = string(old)
			return old, nil
		})
		if err != nil {
			t.Errorf("Update(%s) = %v", name, err)
		}
		return got
	}
	if got := seen("q/c"); got != "q/c=new" {
		t.Errorf("q/c read under its lease with q/b a directory = %q; want the transaction's q/c=new", got)
	}
	for _, name := range []string{"q/c", "q/a"} {
		if err := c.WriteFile(ctx, name, []byte("mine"), 0o644); err != nil {
			t.Errorf("WriteFile(%s) with q/b a directory = %v; want it committed", name, err)
		}
	}
	if err := c.WriteFile(ctx, "q/b", []byte("mine"), 0o644); err == nil {
		t.Error("WriteFile(q/b), a directory = nil; want an error")
	}
	if n := txIntents(t, root); n != 1 {
		t.Errorf("%d intents with q/b blocked; want the transaction's one kept", n)
	}
	if err := os.Remove(filepath.Join(root, "q/b")); err != nil {
		t.Fatal(err)
	}
	if got := seen("q/b"); got != "q/b=new" {
		t.Errorf("q/b read under its lease once the directory is gone = %q; want q/b=new", got)
	}
	if n := txIntents(t, root); n != 0 {
		t.Errorf("%d intents after the transaction was completed; want none", n)
	}
}
