package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

type watchOpts struct {
	name     string
	initial  bool
	json     bool
	interval time.Duration
	argv     []string
}

func newWatchCmd(g *globals) *cobra.Command {
	o := &watchOpts{}
	cmd := &cobra.Command{
		Use:   "watch NAME [--initial] [--json] [-- CMD [ARG...]]",
		Short: "Print each new version of NAME, or run CMD with its content on stdin",
		Long: `watch follows NAME: for each new version, once and in token order, it prints
the change event (one line; --json: one JSON object per line), or runs CMD with
the content on stdin and the event in the environment:

  SHAREDWRITE_PATH      the key (NAME relative to the root)
  SHAREDWRITE_TOKEN     the version's fencing token
  SHAREDWRITE_SHA256    the content's sha256 (hex)
  SHAREDWRITE_SIZE      the content's size in bytes: 0 when the version removed
                        NAME (SHAREDWRITE_EVENT keeps the removed file's size)
  SHAREDWRITE_DELETED   1 when the version removed NAME (stdin is empty), else 0
  SHAREDWRITE_WRITER    the writer's host/pid (empty for a version sharedwrite
                        did not record: a file written by other means)
  SHAREDWRITE_TIME      the commit time (RFC 3339, UTC; empty when unrecorded)
  SHAREDWRITE_INITIAL   1 for the version current at start (--initial), else 0
  SHAREDWRITE_EVENT     the event as JSON

The content is verified against the version's sha256 before it is handed over:
on a network volume another host's view may stay old for a while after a change,
and watch waits for it rather than deliver the old content as new. Versions
superseded while it waits are skipped. A CMD that fails is reported and watching
goes on. watch runs until SIGINT or SIGTERM, then exits 0; a lock record that
turns corrupt ends it with exit 5, as it refuses every command on NAME until
repair-record.`,
		Example: `  sharedwrite watch config.json --initial -- sh -c 'cat > /etc/app/config.json && kill -HUP 1'
  sharedwrite watch config.json --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			before, _ := afterDash(cmd, args)
			if len(before) != 1 || (cmd.ArgsLenAtDash() >= 0 && len(args) == len(before)) {
				return usagef("watch takes NAME [-- CMD [ARG...]]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			before, after := afterDash(cmd, args)
			o.name, o.argv = before[0], after
			return runWatch(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.initial, "initial", false, "deliver the current version first")
	f.BoolVar(&o.json, "json", false, "print each event as a JSON object on one line")
	f.DurationVar(&o.interval, "interval", coordinator.DefaultWatchInterval, "how often to poll the volume's committed record (the fallback for lost notifications); must be positive")
	return cmd
}

func runWatch(ctx context.Context, g *globals, o *watchOpts) error {
	if o.interval <= 0 {
		return usagef("--interval %v: must be positive", o.interval)
	}
	if c, ok := g.stdout.(closedStream); ok && o.argv == nil {
		// Every event would fail to print: fail now, not at the first
		// new version, which may be long in coming. (A CMD is run with
		// the descriptor as it was left, as lock runs its command.)
		_, err := c.Write(nil)
		return fmt.Errorf("watch %s: write the events to stdout: %w", quote.Name(o.name), err)
	}
	err := g.withExistingVolume(ctx, "watch "+quote.Name(o.name), func(ctx context.Context, v *volume, acquired func()) error {
		// Watching has no end but the signal: --timeout bounds nothing here.
		acquired()
		opts := []coordinator.WatchOption{coordinator.WatchInterval(o.interval)}
		if o.initial {
			opts = append(opts, coordinator.WatchInitial())
		}
		return v.c.Watch(ctx, o.name, func(ctx context.Context, ch coordinator.Change) error {
			if o.argv != nil {
				g.runWatchCmd(ctx, o, ch)
				return nil
			}
			return g.printChange(ctx, o, ch)
		}, opts...)
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Cause(ctx)) && !errors.Is(err, errNoAnswer) {
		return nil // SIGINT or SIGTERM: a clean stop (exit 0)
	}
	return err
}

// eventJSON is the change event as one JSON object, with "initial" added for
// the version current at start. JSON carries only UTF-8: a name that is not
// valid UTF-8 has its invalid bytes replaced (U+FFFD) in "path", and
// "path_base64", added then only, holds its exact bytes.
func eventJSON(ch coordinator.Change) ([]byte, error) {
	b, err := json.Marshal(ch.Event)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(ch.Path) {
		b = append(b[:len(b)-1], `,"path_base64":"`+base64.StdEncoding.EncodeToString([]byte(ch.Path))+`"}`...)
	}
	if ch.Initial {
		b = append(b[:len(b)-1], `,"initial":true}`...)
	}
	return b, nil
}

func (g *globals) printChange(ctx context.Context, o *watchOpts, ch coordinator.Change) error {
	var line []byte
	if o.json {
		b, err := eventJSON(ch)
		if err != nil {
			return fmt.Errorf("watch %s: encode the event: %w", quote.Name(ch.Path), err)
		}
		line = append(b, '\n')
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "%s token=%d sha256=%s size=%d writer=%s time=%s",
			quote.Name(ch.Path), ch.Token, hex.EncodeToString(ch.SHA256[:]), ch.Size,
			writerOf(ch, quote.Name, "-"), timeOf(ch, "-"))
		if ch.Deleted {
			b.WriteString(" deleted")
		}
		if ch.Initial {
			b.WriteString(" initial")
		}
		b.WriteByte('\n')
		line = []byte(b.String())
	}
	// A write into a pipe that its reader no longer empties blocks in the
	// kernel, where a signal does not reach it: it is made apart, so that
	// SIGINT or SIGTERM still ends watch (the process exits, and the write
	// with it).
	written := make(chan error, 1)
	go func() {
		_, err := g.stdout.Write(line)
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			return fmt.Errorf("watch %s: write the event to stdout: %w", quote.Name(ch.Path), err)
		}
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// writerOf is the writer of ch as host/pid (the host passed through quoteHost),
// or unknown for a version sharedwrite did not record (token 0: a file written
// by other means).
func writerOf(ch coordinator.Change, quoteHost func(string) string, unknown string) string {
	if ch.Host == "" && ch.PID == 0 {
		return unknown
	}
	return quoteHost(ch.Host) + "/" + strconv.Itoa(ch.PID)
}

// timeOf is the commit time of ch, or unknown when it was not recorded.
func timeOf(ch coordinator.Change, unknown string) string {
	if ch.Time.IsZero() {
		return unknown
	}
	return ch.Time.UTC().Format(time.RFC3339Nano)
}

// runWatchCmd runs o.argv for one version: the content on stdin, the event in
// the environment. A failure is logged; watching goes on.
func (g *globals) runWatchCmd(ctx context.Context, o *watchOpts, ch coordinator.Change) {
	ev, err := eventJSON(ch)
	if err != nil {
		ev = nil
	}
	// On SIGINT/SIGTERM the running command is sent SIGTERM with all it
	// started, then killed if it does not end.
	cmd := groupCommand(ctx, o.argv, g.interactive(), 10*time.Second)
	cmd.Stdin = bytes.NewReader(ch.Data)
	cmd.Stdout, cmd.Stderr = childOut(g.stdout), g.stderr
	size := ch.Size
	if ch.Deleted {
		size = 0 // the event's size is the removed file's; CMD's stdin is empty
	}
	cmd.Env = append(os.Environ(),
		"SHAREDWRITE_PATH="+ch.Path,
		"SHAREDWRITE_TOKEN="+strconv.FormatUint(ch.Token, 10),
		"SHAREDWRITE_SHA256="+hex.EncodeToString(ch.SHA256[:]),
		"SHAREDWRITE_SIZE="+strconv.FormatInt(size, 10),
		"SHAREDWRITE_DELETED="+boolEnv(ch.Deleted),
		"SHAREDWRITE_WRITER="+writerOf(ch, func(h string) string { return h }, ""),
		"SHAREDWRITE_TIME="+timeOf(ch, ""),
		"SHAREDWRITE_INITIAL="+boolEnv(ch.Initial),
		"SHAREDWRITE_EVENT="+string(ev),
	)
	err = cmd.Run()
	if ctx.Err() != nil {
		stopGroup(cmd)
	}
	if err != nil && ctx.Err() == nil {
		g.logger.WarnContext(ctx, "watch: the command failed for a version; watching goes on",
			"key", quote.Value(ch.Path), "token", ch.Token, "cmd", quote.Value(o.argv[0]), "err", err)
	}
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
