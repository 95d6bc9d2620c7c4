//go:build linux

package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A batch that fails on a full filesystem leaves the log as it was: none of
// its bytes stay in the file, also when no batch follows (the Appender
// closed), where readers outside sharedwrite (tail -f, a log shipper) would
// see a partial record. Once space is freed, appends go on after the last
// acknowledged record.
func TestAppendFullDiskLeavesLogAsItWas(t *testing.T) {
	for _, m := range modes {
		for _, framed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/framed=%v", m, framed), func(t *testing.T) {
				dir := testrig.Tmpfs(t, "512k")
				c := open(t, m, dir)
				ctx := ctxT(t, 30*time.Second)
				var lo []LogOption
				if framed {
					lo = append(lo, Framed())
				}
				a := c.Appender("app.log", lo...)
				for i := range 3 {
					if err := a.Append(ctx, fmt.Appendf(nil, "ok %d\n", i)); err != nil {
						t.Fatal(err)
					}
				}
				logPath := filepath.Join(dir, "app.log")
				before, err := os.ReadFile(logPath)
				if err != nil {
					t.Fatal(err)
				}
				filler := testrig.Fill(t, dir, 0)
				big := bytes.Repeat([]byte("x"), 64<<10)
				big[len(big)-1] = '\n'
				err = a.Append(ctx, big)
				if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "app.log") {
					t.Fatalf("Append on a full filesystem = %v; want ENOSPC naming app.log", err)
				}
				if got, _ := os.ReadFile(logPath); !bytes.Equal(got, before) {
					t.Fatalf("a failed append left %d bytes in the log; want the %d it had", len(got), len(before))
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(logPath); !bytes.Equal(got, before) {
					t.Fatalf("after Close the log holds %d bytes; want the %d it had", len(got), len(before))
				}
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
				a = c.Appender("app.log", lo...)
				if err := a.Append(ctx, []byte("after\n")); err != nil {
					t.Fatalf("Append once space is freed: %v", err)
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				want := append(before, batchData([]*appendReq{{rec: []byte("after\n")}}, framed)...)
				if got, _ := os.ReadFile(logPath); !bytes.Equal(got, want) {
					t.Errorf("log = %q; want %q", got, want)
				}
			})
		}
	}
}
