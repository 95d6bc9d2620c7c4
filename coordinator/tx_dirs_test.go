package coordinator

import (
	"testing"
	"time"
)

// A transaction refused at its commit leaves no directory its files' temps
// made, including one that held another file's directory when the first
// commit failed: p/d's commit fails (p/d/e/f's Create made p/d a directory)
// while p, made by p/d's Create, still holds p/d.
func TestTxFailureRemovesTheDirectoriesItMade(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 20*time.Second)
			before := treeSnapshot(t, root)
			err := c.Tx(ctx, []TxFile{
				{Name: "p/d", Data: []byte("d")},
				{Name: "p/d/e/f", Data: []byte("f")},
				{Name: "z", Data: []byte("z")},
			})
			if err == nil {
				t.Fatal("Tx of p/d and p/d/e/f = nil; want an error (p/d cannot be a file and a directory)")
			}
			if after := treeSnapshot(t, root); after != before {
				t.Fatalf("a failed Tx (%v) changed the tree:\nbefore %s\nafter  %s", err, before, after)
			}
		})
	}
}
