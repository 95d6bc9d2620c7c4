package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSweepIntentNamingOneTargetTwice: a well-formed intent on the volume
// (planted, or written by another build) that lists one target twice must
// not make Sweep wait on the key it already holds: that wait lasted until
// the caller's deadline, and the orphan temps were then left unswept.
func TestSweepIntentNamingOneTargetTwice(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithLeaseTTL(30*time.Second))
			ctx := ctxT(t, time.Minute)
			in := txIntent{Entries: []txEntry{
				{Target: "k", Temp: ".k.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"},
				{Target: "k", Temp: ".k.sw.h.1.1.00000001.tmp", Token: 1, LeaseID: "planted"},
			}}
			plantIntent(t, c, ctx, in)
			// An orphan temp of this host, old enough to go.
			host, err := os.Hostname()
			if err != nil || host == "" {
				host = "unknown"
			}
			host = strings.NewReplacer(".", "-", "/", "-", "\\", "-").Replace(host) // as temp names carry it
			orphan := filepath.Join(root, ".f.sw."+host+".4242.12345.0badf00d.tmp")
			mustWrite(t, orphan, "orphan")

			sctx := ctxT(t, 10*time.Second)
			_, err = c.Sweep(sctx, 0)
			if errors.Is(err, sctx.Err()) && sctx.Err() != nil {
				t.Fatalf("Sweep = %v; want it to end before its deadline", err)
			}
			if _, serr := os.Lstat(orphan); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("orphan temp after Sweep: %v (Sweep: %v); want it removed", serr, err)
			}
		})
	}
}
