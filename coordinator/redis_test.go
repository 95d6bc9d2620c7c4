package coordinator

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

func TestRedissURL(t *testing.T) {
	rt := testrig.StartRedisTLS(t, false)
	root := t.TempDir()
	ctx := ctxT(t, 30*time.Second)
	if _, err := InitVolume(ctx, root, rt.Client(t)); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, root, WithRedisURL(rt.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if err := c.Update(ctx, "counter", increment); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, filepath.Join(root, "counter")); got != "3" {
		t.Fatalf("counter = %q; want 3", got)
	}
	if c.Mode() != ModeRedis {
		t.Fatalf("mode = %s; want redis", c.Mode())
	}
}

// spanText renders every attribute and event of every span.
func spanText(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Name())
		for _, kv := range s.Attributes() {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
		}
		for _, ev := range s.Events() {
			b.WriteString(" event " + ev.Name)
			for _, kv := range ev.Attributes {
				b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
			}
		}
		b.WriteString(" status " + s.Status().Description + "\n")
	}
	return b.String()
}

func TestPasswordNeverRecorded(t *testing.T) {
	const right, wrong = "s3cr3t-right-PW", "s3cr3t-wrong-PW"
	r := testrig.StartRedis(t, "--requirepass", right)
	root := t.TempDir()
	ctx := ctxT(t, 30*time.Second)
	admin := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: right, DisableIdentity: true})
	t.Cleanup(func() { admin.Close() })
	if _, err := InitVolume(ctx, root, admin); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		wantErr   bool
	}{
		{"wrong password", "redis://:" + wrong + "@" + r.Addr(), true},
		{"no password", "redis://" + r.Addr(), true},
		{"right password", "redis://:" + right + "@" + r.Addr(), false},
		{"malformed URL", "redis://:" + wrong + "@" + r.Addr() + ":notaport", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTelRig(t)
			var logs bytes.Buffer
			logger := slog.New(NewLogHandler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			short, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			var err error
			c, err := Open(short, root, append(tr.opts(), WithRedisURL(tc.url), WithLogger(logger))...)
			if err == nil {
				err = c.WriteFile(short, "f", []byte("x"), 0o644)
				c.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want error %v", err, tc.wantErr)
			}
			spans := spanText(tr.spans.Ended())
			if tc.name == "right password" && !strings.Contains(spans, "redis") {
				t.Fatalf("no Redis client spans recorded; the check below would be vacuous:\n%s", spans)
			}
			for _, pw := range []string{right, wrong} {
				where := map[string]string{"log": logs.String(), "spans": spans}
				if err != nil {
					where["error"] = err.Error()
				}
				for w, text := range where {
					if strings.Contains(text, pw) {
						t.Errorf("password %q appears in the %s:\n%s", pw, w, text)
					}
				}
			}
		})
	}
}
