package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A planted intent may name, as the "staged temp" of a target, a temp that
// belongs to another file (a crashed write's leftover, or a write in flight:
// it is named as the writer names temps, in the target's directory). It is
// not a staged temp of that target (checkStaged's contract): completing it
// would clobber the target with another file's content.
func TestTxPlantedIntentForeignTemp(t *testing.T) {
	for _, via := range []string{"next holder", "sweep"} {
		t.Run(via, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "victim", []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Another file's temp, left by a write that never committed.
			foreign := ".other.sw.h.1.1.00000000.tmp"
			mustWrite(t, filepath.Join(root, foreign), "other's uncommitted content")
			mustWrite(t, filepath.Join(root, ".k.sw.h.1.1.00000000.tmp"), "staged")
			plantIntent(t, c, ctx, txIntent{Entries: []txEntry{
				{Target: "k", Temp: ".k.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"},
				{Target: "victim", Temp: foreign, Token: 1, LeaseID: "planted"},
			}})
			switch via {
			case "next holder":
				if err := c.WriteFile(ctx, "k", []byte("new"), 0o644); err != nil {
					t.Logf("WriteFile(k): %v", err)
				}
			case "sweep":
				rep, err := c.Sweep(ctx, time.Hour)
				t.Logf("Sweep: %+v, %v", rep, err)
			}
			if got := readFile(t, filepath.Join(root, "victim")); got != "keep me" {
				t.Errorf("victim = %q; want %q (the planted intent named another file's temp as its staged temp)", got, "keep me")
			}
			if _, err := os.Lstat(filepath.Join(root, foreign)); err != nil {
				t.Errorf("the other file's temp %s: %v; want it left where it was", foreign, err)
			}
		})
	}
}
