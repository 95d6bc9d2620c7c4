package coordinator

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// sharedRedis is the package's redis-server; tests use unique roots (so unique
// volume ids and keys).
var sharedRedis *testrig.Redis

// childEnv selects a child role when the test binary is re-executed.
const childEnv = "SHAREDWRITE_COORDINATOR_CHILD"

func TestMain(m *testing.M) {
	// Operations log their recoveries at Info; tests that check logs use their own logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	// SetDefault routes the log package through that handler at Info, which
	// it drops: an Example's log.Fatal would exit without a word.
	log.SetOutput(os.Stderr)
	log.SetFlags(log.LstdFlags)
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	dir, err := os.MkdirTemp("", "coordinator-redis-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if r, err := testrig.LaunchRedis(dir); err == nil {
		sharedRedis = r
	} else {
		fmt.Fprintln(os.Stderr, "redis-server unavailable:", err)
	}
	code := m.Run()
	if sharedRedis != nil {
		sharedRedis.Kill()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func needRedis(t testing.TB) *testrig.Redis {
	t.Helper()
	if sharedRedis == nil {
		testrig.Unavailable(t, "redis-server not available")
	}
	return sharedRedis
}

type mode string

const (
	local mode = "local"
	rds   mode = "redis"
)

var modes = []mode{local, rds}

// open opens a coordinator on root in mode m (initialising the volume for Redis).
func open(t testing.TB, m mode, root string, opts ...Option) *Coordinator {
	t.Helper()
	ctx := context.Background()
	if m == rds {
		r := needRedis(t)
		cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
		t.Cleanup(func() { cl.Close() })
		if _, err := InitVolume(ctx, root, cl); err != nil {
			t.Fatalf("InitVolume: %v", err)
		}
		opts = append([]Option{WithRedis(cl)}, opts...)
	}
	c, err := Open(ctx, root, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", m, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// ownRedisVolume starts a redis-server of the test's own (one it may kill or
// restart) and makes a fresh root a Redis-mode volume on it. cl is a client
// of that server with retries off, closed on cleanup.
func ownRedisVolume(t testing.TB, ctx context.Context) (r *testrig.Redis, root string, cl *redis.Client) {
	t.Helper()
	r = testrig.StartRedis(t)
	root = t.TempDir()
	cl = redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	if _, err := InitVolume(ctx, root, cl); err != nil {
		t.Fatal(err)
	}
	return r, root, cl
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// holdKey holds name through c.Lock until the returned release is called (at
// the latest on cleanup); release returns Lock's error.
func holdKey(t testing.TB, c *Coordinator, name string) (release func() error) {
	t.Helper()
	holding, stop := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Lock(context.Background(), name, func(context.Context, LeaseInfo) error {
			close(holding)
			<-stop
			return nil
		})
	}()
	select {
	case <-holding:
	case err := <-done:
		t.Fatalf("Lock(%q): %v", name, err)
	}
	var once sync.Once
	var err error
	release = func() error {
		once.Do(func() {
			close(stop)
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { release() })
	return release
}
