package coordinator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirstAppendCrashedTailDropped: the first append ever to a log is killed
// after its data's fsync, before its commit point. Its batch was never
// acknowledged, and the next append drops it. The log had no committed
// version then, and the next append took the file's size as committed,
// keeping the batch (a torn one too).
func TestFirstAppendCrashedTailDropped(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			env := []string{"SW_ROOT=" + root, "SW_NAME=app.log", "SW_RECORD=ghost 1\n"}
			if m == rds {
				env = append(env, "SW_REDIS="+needRedis(t).URL(), "SW_TTL=1s")
			}
			if s := exitStatus(child(t, "append-crash-after-fsync", env...).Run()); s != -1 {
				t.Fatalf("the appender child exited %d; want it killed after its data fsync", s)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "app.log")); !strings.Contains(string(b), "ghost 1") {
				t.Fatalf("the killed appender's batch is not in the file (%q): killed too early", b)
			}
			a := c.Appender("app.log")
			defer a.Close()
			if err := a.Append(ctx, []byte("real 1\n")); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(root, "app.log")); got != "real 1\n" {
				t.Errorf("log holds %q after a crashed first append and one acknowledged record; want %q", got, "real 1\n")
			}
		})
	}
}

// TestKeepPrunesInRotationOrder: an earlier rotation named by a host whose
// clock runs 5 s ahead (its name's time later, its token lower), then a
// rotation here with Keep(1): the one kept is the rotation just made. Pruning
// went by the time in the names and removed it.
func TestKeepPrunesInRotationOrder(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("first 1\n")); err != nil {
		t.Fatal(err)
	}
	r1, err := c.Rotate(ctx, "app.log")
	if err != nil || r1.Name == "" {
		t.Fatalf("rotate: %+v %v", r1, err)
	}
	rf, err := c.RotatedFiles("app.log")
	if err != nil || len(rf) != 1 {
		t.Fatalf("RotatedFiles: %v %v", rf, err)
	}
	ahead := rotatedName("app.log", rf[0].Time.Add(5*time.Second), rf[0].Token)
	if err := os.Rename(filepath.Join(root, r1.Name), filepath.Join(root, ahead)); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []byte("second 2\n")); err != nil {
		t.Fatal(err)
	}
	r2, err := c.Rotate(ctx, "app.log", Keep(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, r2.Name)); err != nil {
		t.Errorf("Keep(1) removed the rotation just made (%s, the higher token) and kept the earlier %s: removed %v", r2.Name, ahead, r2.Removed)
	}
	if _, err := os.Stat(filepath.Join(root, ahead)); err == nil {
		t.Errorf("Keep(1) kept the earlier rotation %s too", ahead)
	}
}
