package coordinator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// Child roles run in a re-executed test binary (see TestMain). Their settings
// come from the environment: SW_ROOT, SW_REDIS (empty: local mode), SW_N,
// SW_TTL. The exit status is ExitCode of the operation's error.
func runChild(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := os.Getenv("SW_ROOT")
	var opts []Option
	if u := os.Getenv("SW_REDIS"); u != "" {
		opts = append(opts, WithRedisURL(u))
	}
	if d, err := time.ParseDuration(os.Getenv("SW_TTL")); err == nil {
		opts = append(opts, WithLeaseTTL(d))
	}
	if td := os.Getenv("SW_TEMPDIR"); td != "" {
		opts = append(opts, WithTempDir(td))
	}
	switch role {
	case "crash-at-commit":
		// Killed once the first commit step (floor and pending written and
		// fsynced) ends, before its rename.
		opts = append(opts, WithTracerProvider(killAtSpanEnd("commit")))
	case "append-crash-after-fsync":
		// Killed once the first batch's data is fsynced, before its commit
		// point.
		opts = append(opts, WithTracerProvider(killAtSpanEnd("fsync")))
	}
	c, err := Open(ctx, root, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return ExitCode(err)
	}
	defer c.Close()
	n, _ := strconv.Atoi(os.Getenv("SW_N"))
	switch role {
	case "update":
		for i := 0; i < n; i++ {
			if err := c.Update(ctx, "counter", increment); err != nil {
				fmt.Fprintln(os.Stderr, "update:", err)
				return ExitCode(err)
			}
		}
		return 0
	case "init":
		data, err := c.InitOnce(ctx, "config.json", func(ctx context.Context) ([]byte, error) {
			f, err := os.OpenFile(os.Getenv("SW_GENLOG"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return []byte(fmt.Sprintf(`{"creator":%d}`, os.Getpid())), nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "init:", err)
			return ExitCode(err)
		}
		os.Stdout.Write(data)
		return 0
	case "update-appends-paused":
		// One Update of "state" that appends "paused\n" (the test pauses
		// the process in its record's fsync).
		err := c.Update(ctx, "state", func(old []byte, _ bool) ([]byte, error) {
			return append(old, "paused\n"...), nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
		}
		return ExitCode(err)
	case "paused-update":
		// Reads, says so, then waits for a line on stdin before returning the
		// new content: the test SIGSTOPs it in between.
		err := c.Update(ctx, "state", func(old []byte, _ bool) ([]byte, error) {
			fmt.Println("READ")
			bufio.NewReader(os.Stdin).ReadString('\n')
			return append(old, []byte("paused-holder\n")...), nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
		}
		return ExitCode(err)
	case "move-stop-after-rename":
		// Moves SW_SRC to SW_DST, prints "renamed" once the copy's rename
		// is made and then waits to be killed.
		obs := writer.Observe(func(ev writer.Event) {
			if ev.Step == "rename" && ev.Err == nil {
				fmt.Println("renamed")
				time.Sleep(time.Hour)
			}
		})
		err := c.Move(ctx, os.Getenv("SW_SRC"), os.Getenv("SW_DST"), obs)
		fmt.Fprintln(os.Stderr, "move returned:", err)
		return 1
	case "append-crash-after-fsync":
		err := c.Appender(os.Getenv("SW_NAME")).Append(ctx, []byte(os.Getenv("SW_RECORD")))
		fmt.Fprintln(os.Stderr, "append returned:", err)
		return 1
	case "crash-at-commit":
		// SW_OP: init (InitOnce) or write (WriteFile) of SW_NAME.
		name, data := os.Getenv("SW_NAME"), []byte("crashed")
		if os.Getenv("SW_OP") == "init" {
			_, err = c.InitOnce(ctx, name, func(context.Context) ([]byte, error) { return data, nil })
		} else {
			err = c.WriteFile(ctx, name, data, 0o644)
		}
		fmt.Fprintln(os.Stderr, "returned:", err)
		return 1
	case "crash-after-rename":
		// WriteFile of SW_NAME ("renamed"), killed once its rename is made,
		// before its committed record is written.
		obs := writer.Observe(func(ev writer.Event) {
			if ev.Step == "rename" && ev.Err == nil {
				killSelf()
			}
		})
		err := c.WriteFile(ctx, os.Getenv("SW_NAME"), []byte("renamed"), 0o644, obs)
		fmt.Fprintln(os.Stderr, "returned:", err)
		return 1
	case "tx-crash-after-rename", "tx-crash-before-intent":
		// SW_FILES: the files (comma separated, each one's content
		// "<name>=new"), tx/a, tx/b and tx/c by default; SW_KILL_AT: after
		// which rename the child is killed (0: the first).
		files := txFiles("new")
		if names := os.Getenv("SW_FILES"); names != "" {
			files = namedTxFiles("new", strings.Split(names, ",")...)
		}
		killAt, _ := strconv.Atoi(os.Getenv("SW_KILL_AT"))
		self := killSelf
		if role == "tx-crash-after-rename" {
			txAfterRename = func(i int) {
				if i == killAt {
					self()
				}
			}
		} else {
			txBeforeIntent = func() error { self(); return nil }
		}
		err := c.Tx(ctx, files)
		fmt.Fprintln(os.Stderr, "tx returned:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 1
}

func increment(old []byte, _ bool) ([]byte, error) {
	n := 0
	if len(old) > 0 {
		var err error
		if n, err = strconv.Atoi(string(old)); err != nil {
			return nil, err
		}
	}
	return []byte(strconv.Itoa(n + 1)), nil
}

func txFiles(v string) []TxFile {
	return []TxFile{
		{Name: "tx/a", Data: []byte("a-" + v)},
		{Name: "tx/b", Data: []byte("b-" + v)},
		{Name: "tx/c", Data: []byte("c-" + v)},
	}
}

// child starts the test binary in role with env.
func child(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
