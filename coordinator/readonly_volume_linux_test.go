//go:build linux

package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// openReadOnlyView opens a coordinator in mode m on ro, a read-only mount of
// a volume: without InitVolume, which a read-only replica cannot run.
func openReadOnlyView(t *testing.T, m mode, ro string) *Coordinator {
	t.Helper()
	var opts []Option
	if m == rds {
		cl := redis.NewClient(&redis.Options{Addr: needRedis(t).Addr(), DisableIdentity: true, MaxRetries: -1})
		t.Cleanup(func() { cl.Close() })
		opts = append(opts, WithRedis(cl))
	}
	c, err := Open(context.Background(), ro, opts...)
	if err != nil {
		t.Fatalf("Open(%s) on a read-only mount: %v", m, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A replica that mounts the volume read-only opens it (in Redis mode, once
// InitVolume made it, before any writer opened it), reads it, and watches
// it: the doorbell (inotify in local mode, the change event in Redis mode)
// rings for versions another replica writes through a read-write mount.
// Writing through the read-only mount fails with EROFS.
func TestReadOnlyVolume(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			ctx := ctxT(t, 2*time.Minute)
			rw, ro := t.TempDir(), t.TempDir()
			var w *Coordinator
			if m == local {
				// Local mode publishes the volume's identity on first use.
				w = open(t, m, rw)
			} else {
				cl := needRedis(t).Client(t)
				if _, err := InitVolume(ctx, rw, cl); err != nil {
					t.Fatal(err)
				}
			}
			testrig.ReadOnlyBind(t, rw, ro)
			r := openReadOnlyView(t, m, ro)
			if w == nil {
				w = open(t, m, rw)
			}

			if _, err := r.ReadFile(ctx, "cfg"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile of a name never written, on a read-only mount: got %v; want fs.ErrNotExist", err)
			}
			if err := w.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, err := r.ReadFile(ctx, "cfg"); err != nil || string(got) != "v1" {
				t.Errorf("ReadFile on a read-only mount: got %q, %v; want \"v1\"", got, err)
			}
			gen := func(context.Context) ([]byte, error) { return []byte("generated"), nil }
			if got, err := r.InitOnce(ctx, "cfg", gen); err != nil || string(got) != "v1" {
				t.Errorf("InitOnce of an existing file on a read-only mount: got %q, %v; want \"v1\"", got, err)
			}
			if err := r.WriteFile(ctx, "cfg", []byte("refused"), 0o644); !errors.Is(err, syscall.EROFS) {
				t.Errorf("WriteFile on a read-only mount: got %v; want an error wrapping EROFS", err)
			}

			// Polled only once a minute: the doorbell must deliver v2.
			wa := startWatch(t, r, "cfg", WatchInitial(), WatchInterval(time.Minute))
			first := wa.waitFor(t, 10*time.Second, "the initial version", func(Change) bool { return true })
			if !first.Initial || string(first.Data) != "v1" {
				t.Fatalf("first delivery on a read-only mount: token %d %q initial=%v; want the initial \"v1\"", first.Token, first.Data, first.Initial)
			}
			if err := w.WriteFile(ctx, "cfg", []byte("v2"), 0o644); err != nil {
				t.Fatal(err)
			}
			wa.waitFor(t, 20*time.Second, "v2, written through the read-write mount", func(ch Change) bool { return string(ch.Data) == "v2" })
			checkOrder(t, wa.got())
		})
	}
}

// A volume never used in local mode has no identity, and a read-only mount
// cannot publish one: Open fails with EROFS and creates nothing.
func TestReadOnlyVolumeNeverUsedInLocalMode(t *testing.T) {
	rw, ro := t.TempDir(), t.TempDir()
	testrig.ReadOnlyBind(t, rw, ro)
	c, err := Open(context.Background(), ro)
	if err == nil {
		c.Close()
		t.Fatal("Open in local mode on a read-only mount of a volume never used = nil error; want EROFS")
	}
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("Open in local mode on a read-only mount of a volume never used: got %v; want an error wrapping EROFS", err)
	}
}
