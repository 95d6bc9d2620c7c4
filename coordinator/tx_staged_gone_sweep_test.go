package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSweepReportsTxWithStagedFileGoneAsPartlyCompleted: a transaction over
// q/a, q/b and q/c is killed past its commit point (q/a renamed, q/b and q/c
// staged). When q/b's staged temp is then deleted outside sharedwrite, Sweep
// renames q/c and removes the intent, but q/b keeps its earlier content: the
// report counts the transaction as partly completed, not as completed. With
// every staged temp there, it counts it as completed.
func TestSweepReportsTxWithStagedFileGoneAsPartlyCompleted(t *testing.T) {
	names := []string{"q/a", "q/b", "q/c"}
	for _, m := range modes {
		for _, tc := range []struct {
			name                      string
			removeStaged              bool
			wantB                     string
			wantCompleted, wantPartly int
		}{
			{"staged file gone", true, "q/b=old", 0, 1},
			{"every staged file there", false, "q/b=new", 1, 0},
		} {
			t.Run(string(m)+"/"+tc.name, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root)
				ctx := ctxT(t, time.Minute)
				crashOverOld(t, ctx, c, m, root, names)
				if tc.removeStaged {
					_, e := stagedEntry(t, c, "q/b")
					if err := os.Remove(filepath.Join(root, e.Temp)); err != nil {
						t.Fatalf("removing q/b's staged temp: %v", err)
					}
				}

				rep, err := c.Sweep(ctx, time.Hour)
				if err != nil {
					t.Fatalf("Sweep = %v", err)
				}
				if rep.IntentsCompleted != tc.wantCompleted || rep.IntentsPartlyCompleted != tc.wantPartly {
					t.Errorf("Sweep report: IntentsCompleted %d, IntentsPartlyCompleted %d; want %d, %d",
						rep.IntentsCompleted, rep.IntentsPartlyCompleted, tc.wantCompleted, tc.wantPartly)
				}
				if rep.IntentsDiscarded != 0 || rep.Failed != 0 {
					t.Errorf("Sweep report: IntentsDiscarded %d, Failed %d; want 0, 0", rep.IntentsDiscarded, rep.Failed)
				}
				for _, f := range namedTxFiles("new", "q/a", "q/c") {
					if got := readFile(t, filepath.Join(root, f.Name)); got != string(f.Data) {
						t.Errorf("%s = %q; want %q", f.Name, got, f.Data)
					}
				}
				if got := readFile(t, filepath.Join(root, "q/b")); got != tc.wantB {
					t.Errorf("q/b = %q; want %q", got, tc.wantB)
				}
				if n := txIntents(t, root); n != 0 {
					t.Errorf("%d intents after Sweep; want none", n)
				}

				// A second Sweep finds nothing left to report.
				rep, err = c.Sweep(ctx, time.Hour)
				if err != nil || rep.IntentsCompleted+rep.IntentsPartlyCompleted != 0 {
					t.Errorf("second Sweep: IntentsCompleted %d, IntentsPartlyCompleted %d, err %v; want 0, 0, nil",
						rep.IntentsCompleted, rep.IntentsPartlyCompleted, err)
				}
			})
		}
	}
}
