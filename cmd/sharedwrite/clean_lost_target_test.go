package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/writer"
)

// txCrashChild is the environment variable that makes the test binary a
// process that commits a transaction and dies right after its first rename
// (see init): the CLI has no command that makes a transaction.
const txCrashChild = "SW_CLI_TEST_TX_CRASH_ROOT"

func init() {
	if root := os.Getenv(txCrashChild); root != "" {
		os.Exit(runTxCrashChild(root, os.Getenv("SW_CLI_TEST_TX_CRASH_REDIS"), strings.Split(os.Getenv("SW_CLI_TEST_TX_CRASH_FILES"), ",")))
	}
}

// runTxCrashChild commits a transaction writing "<name>=new" to each of
// names on root (Redis mode when redisURL is set, with a short lease TTL so
// that the next holder need not wait long), and kills this process once its
// first file is renamed: a holder dead past the commit point.
func runTxCrashChild(root, redisURL string, names []string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := []coordinator.Option{coordinator.WithLeaseTTL(time.Second)}
	if redisURL != "" {
		opts = append(opts, coordinator.WithRedisURL(redisURL))
	}
	c, err := coordinator.Open(ctx, root, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	files := make([]coordinator.TxFile, len(names))
	for i, n := range names {
		files[i] = coordinator.TxFile{Name: n, Data: []byte(n + "=new")}
	}
	die := writer.Observe(func(ev writer.Event) {
		if ev.Step == "rename" && ev.Err == nil {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Kill()
			}
			time.Sleep(time.Minute) // until the kill lands
		}
	})
	err = c.Tx(ctx, files, die)
	fmt.Fprintln(os.Stderr, "tx returned without being killed:", err)
	return 2
}

// stagedTemp returns the staged temp that the one transaction intent on root
// names for target.
func stagedTemp(t *testing.T, root, target string) string {
	t.Helper()
	dir := filepath.Join(root, ".sharedwrite", "tx")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// The intent's JSON is its second line, after a header.
		lines := bytes.Split(b, []byte("\n"))
		var in struct {
			Entries []struct{ Target, Temp string }
		}
		if len(lines) < 2 || json.Unmarshal(lines[1], &in) != nil {
			t.Fatalf("intent %s: no JSON on its second line: %q", e.Name(), b)
		}
		for _, te := range in.Entries {
			if te.Target == target {
				return te.Temp
			}
		}
	}
	t.Fatalf("no transaction intent in %s names %s", dir, target)
	return ""
}

// TestCleanReportsTxWithStagedFileGone: a transaction over q/a, q/b and q/c
// is killed past its commit point (q/a renamed, q/b and q/c staged), and
// q/b's staged temp is then deleted outside sharedwrite. clean renames q/c
// and removes the intent, and q/b keeps its earlier content: clean reports
// the transaction as partly completed, not as completed, says that files
// kept their earlier content, and logs q/b as such.
func TestCleanReportsTxWithStagedFileGone(t *testing.T) {
	names := []string{"q/a", "q/b", "q/c"}
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			for _, n := range names {
				if r := v.run(t, n+"=old", "write", n); r.code != 0 {
					t.Fatalf("write %s: exit %d: %s", n, r.code, r.stderr)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			child.Env = append(baseEnv(), txCrashChild+"="+v.root, "SW_CLI_TEST_TX_CRASH_REDIS="+v.redis,
				"SW_CLI_TEST_TX_CRASH_FILES="+strings.Join(names, ","))
			out, err := child.CombinedOutput()
			// Killed: -1 (a signal) on Unix, 1 on Windows; 2 is its own
			// failure.
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 2 {
				t.Fatalf("transaction child: %v; want it killed; output:\n%s", err, out)
			}
			temp := stagedTemp(t, v.root, "q/b")
			if err := os.Remove(filepath.Join(v.root, filepath.FromSlash(temp))); err != nil {
				t.Fatalf("removing q/b's staged temp: %v", err)
			}

			r := v.run(t, "", "clean")
			if r.code != 0 {
				t.Fatalf("clean: exit %d; stdout %q; stderr %q", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "intents: 0 completed, 1 partly completed,") {
				t.Errorf("clean stdout %q; want it to count the intent as partly completed, not completed", r.stdout)
			}
			if !strings.Contains(r.stdout, "transactions completed only in part: 1") || !strings.Contains(r.stdout, "kept their earlier content") {
				t.Errorf("clean stdout %q; want it to say that files of 1 transaction kept their earlier content", r.stdout)
			}
			if !strings.Contains(r.stderr, "target=q/b") || !strings.Contains(r.stderr, "earlier content") {
				t.Errorf("clean stderr %q; want a log line naming q/b as keeping its earlier content", r.stderr)
			}
			for _, n := range names {
				want := n + "=new"
				if n == "q/b" {
					want = n + "=old"
				}
				if b, err := os.ReadFile(filepath.Join(v.root, n)); err != nil || string(b) != want {
					t.Errorf("%s after clean: %q, %v; want %q", n, b, err, want)
				}
			}

			// Nothing is left for a second clean to report.
			r = v.run(t, "", "clean")
			if r.code != 0 || !strings.Contains(r.stdout, "intents: 0 completed, 0 partly completed,") || strings.Contains(r.stdout, "only in part") {
				t.Errorf("second clean: exit %d, stdout %q; want 0 and no intent reported", r.code, r.stdout)
			}
		})
	}
}
