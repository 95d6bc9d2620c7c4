//go:build linux

package coordinator

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A coordinator Move across devices killed right after its rename (dst
// committed, src not yet unlinked, intent beside src) is completed by the
// next Move: it returns nil, src and intent are gone, and dst's version is
// the moved content: a strict ReadFile returns it, and the committed record
// (volume) names it.
func TestMoveCompletesCrashedMoveAndRecordsIt(t *testing.T) {
	testrig.NeedRoot(t)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, Strict(), WithStaleWindow(300*time.Millisecond))
			ctx := ctxT(t, 60*time.Second)
			if err := c.WriteFile(ctx, "dst", []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(testrig.Tmpfs(t, "1m"), "spool")
			mustWrite(t, src, "moved content")
			env := []string{"SW_ROOT=" + root, "SW_SRC=" + src, "SW_DST=dst"}
			if m == rds {
				env = append(env, "SW_REDIS=redis://"+needRedis(t).Addr())
			}
			cmd := child(t, "move-stop-after-rename", env...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(out)
			var lines []string
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child: %v; printed %q", err, lines)
				}
				lines = append(lines, strings.TrimSpace(l))
				if strings.TrimSpace(l) == "renamed" {
					break
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			if got := readFile(t, filepath.Join(root, "dst")); got != "moved content" {
				t.Fatalf("dst after the kill = %q; want the copy committed", got)
			}
			if err := c.Move(ctx, src, "dst"); err != nil {
				t.Fatalf("Move again after the crash: %v", err)
			}
			if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("source after the second Move: %v; want it gone", err)
			}
			got, err := c.ReadFile(ctx, "dst")
			if err != nil || string(got) != "moved content" {
				t.Errorf("strict ReadFile(dst) = %q, %v; want the moved content", got, err)
			}
			rec, err := c.peekRecord("dst")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("record: committed token %d size %d; pending token %d size %d", rec.Committed.Token, rec.Committed.Size, rec.Pending.Token, rec.Pending.Size)
			if rec.Committed.Size != int64(len("moved content")) {
				t.Errorf("committed record after the completed Move: size %d; want %d (the moved content)", rec.Committed.Size, len("moved content"))
			}
		})
	}
}
