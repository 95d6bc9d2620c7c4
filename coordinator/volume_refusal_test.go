package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// metaNames lists what is under root's .sharedwrite.
func metaNames(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(filepath.Join(root, metaDir), func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// A replica refused by the volume's metadata (another mode, a malformed
// config or id, an identity that was lost) leaves .sharedwrite as it was:
// it publishes no volume-id and makes no directory before it refuses.
func TestVolumeRefusalChangesNothing(t *testing.T) {
	r := needRedis(t)
	ctx := ctxT(t, 30*time.Second)
	cl := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	t.Cleanup(func() { cl.Close() })
	openLocal := func(root string) error { _, err := Open(ctx, root); return err }
	openRedis := func(root string) error { _, err := Open(ctx, root, WithRedis(cl)); return err }
	initVolume := func(root string) error { _, err := InitVolume(ctx, root, cl); return err }
	for _, tc := range []struct {
		name   string
		config string // "" for none
		id     string // "" for none
		open   func(string) error
		want   error
	}{
		{"local on a redis config without id", "mode=redis\n", "", openLocal, ErrModeMismatch},
		{"init-volume on a local config without id", "mode=local\n", "", initVolume, ErrModeMismatch},
		{"local on a malformed config", "mode=bogus\n", "", openLocal, ErrBadVolume},
		{"local on a malformed id", "mode=local\n", "x", openLocal, ErrBadVolume},
		{"init-volume on a malformed id", "", "not an id\n", initVolume, ErrBadVolume},
		{"init-volume on a redis config whose id was removed", "mode=redis\n", "", initVolume, ErrBadVolume},
		{"redis on a redis config whose id was removed", "mode=redis\n", "", openRedis, ErrBadVolume},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, metaDir), 0o770); err != nil {
				t.Fatal(err)
			}
			if tc.config != "" {
				mustWrite(t, filepath.Join(root, configFile), tc.config)
			}
			if tc.id != "" {
				mustWrite(t, filepath.Join(root, volumeIDFile), tc.id)
			}
			before := metaNames(t, root)
			err := tc.open(root)
			if !errors.Is(err, tc.want) || ExitCode(err) != ExitBadPath {
				t.Fatalf("= %v (exit %d); want %v, exit 5", err, ExitCode(err), tc.want)
			}
			if after := metaNames(t, root); !slices.Equal(before, after) {
				t.Fatalf(".sharedwrite holds %q after the refusal; want %q as before", after, before)
			}
		})
	}
	t.Run("a local config without id gets one", func(t *testing.T) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, metaDir), 0o770); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(root, configFile), "mode=local\n")
		c, err := Open(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if id := readFile(t, filepath.Join(root, volumeIDFile)); id != c.VolumeID()+"\n" || len(c.VolumeID()) != 32 {
			t.Fatalf("volume-id %q, VolumeID %q; want the same 32 hex digits", id, c.VolumeID())
		}
	})
}
