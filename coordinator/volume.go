package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
)

// Volume metadata under <root>/.sharedwrite/.
const (
	metaDir      = ".sharedwrite"
	volumeIDFile = metaDir + "/volume-id"
	configFile   = metaDir + "/config"
	txDir        = metaDir + "/tx"
	metaDirPerm  = 0o770 | fs.ModeSetgid
	metaFilePerm = 0o644
)

// Volume modes recorded in .sharedwrite/config.
const (
	ModeRedis = "redis"
	ModeLocal = "local"
)

// volume is the identity and mode read from (or published to) .sharedwrite/.
type volume struct {
	id   string
	mode string
}

// InitVolume prepares root for Redis mode: it publishes .sharedwrite/volume-id
// (when absent) and a config recording the Redis mode, after checking that the
// client answers. It is idempotent; on a volume already in local mode it fails
// with ErrModeMismatch. It returns the volume id.
func InitVolume(ctx context.Context, root string, client redis.UniversalClient) (string, error) {
	if client == nil {
		return "", wrap("init-volume", root, errors.New("no Redis client"))
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return "", wrap("init-volume ping", root, locking.ClassifyRedisError(err))
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", wrap("init-volume open", root, badVolume(err))
	}
	defer r.Close()
	v, err := ensureVolume(r, ModeRedis, true)
	if err != nil {
		return "", err
	}
	return v.id, nil
}

// CheckVolume reports whether the volume at root lets a replica in mode
// (ModeRedis or ModeLocal) work, without creating or changing anything: nil,
// or the error its operations would fail with (ErrVolumeNotInitialised,
// ErrBadVolume, ErrModeMismatch). A volume not initialised yet is fine in
// local mode, which initialises it on first use.
func CheckVolume(root, mode string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return wrap("open", root, badVolume(err))
	}
	defer r.Close()
	_, err = ensureVolume(r, mode, false)
	if mode == ModeLocal && errors.Is(err, ErrVolumeNotInitialised) {
		return nil
	}
	return err
}

// ensureVolume reads the volume's identity and mode and checks them against
// mode. create allows publishing a missing volume-id and config (local mode on
// first use, InitVolume).
func ensureVolume(r *os.Root, mode string, create bool) (volume, error) {
	// What exists is checked before anything is made: a replica in the wrong
	// mode, or on metadata it cannot use, leaves the volume as it was.
	cfg, cfgErr := readMeta(r, configFile)
	if cfgErr == nil {
		cfgErr = checkConfig(cfg, mode)
	}
	if cfgErr != nil && !errors.Is(cfgErr, fs.ErrNotExist) {
		return volume{}, cfgErr
	}
	id, idErr := readMeta(r, volumeIDFile)
	if idErr == nil {
		idErr = checkVolumeID(id)
	}
	if idErr != nil && !errors.Is(idErr, fs.ErrNotExist) {
		return volume{}, idErr
	}
	if idErr != nil && cfgErr == nil && mode == ModeRedis {
		// The config is published after the id: a config without one means
		// the id was removed. A new id would start a second Redis key space
		// beside the one replicas still running use.
		return volume{}, wrap("volume-id", volumeIDFile, fmt.Errorf("%w: missing, although %s records Redis mode: the volume's identity was lost "+
			"(replicas still running use the old one); stop every replica, remove %s, then run init-volume", ErrBadVolume, configFile, configFile))
	}
	if !create {
		if idErr != nil {
			return volume{}, wrap("volume-id", volumeIDFile, ErrVolumeNotInitialised)
		}
		if cfgErr != nil {
			return volume{}, wrap("config", configFile, ErrVolumeNotInitialised)
		}
		return volume{id: id, mode: mode}, nil
	}
	if err := mkdirMeta(r); err != nil {
		return volume{}, err
	}
	if idErr != nil {
		if err := publishMeta(r, volumeIDFile, []byte(newVolumeID()+"\n")); err != nil {
			return volume{}, err
		}
		var err error
		if id, err = readMeta(r, volumeIDFile); err != nil {
			return volume{}, err
		}
		if err := checkVolumeID(id); err != nil {
			return volume{}, err
		}
	}
	if cfgErr != nil {
		// Another replica may have published its config meanwhile: the one
		// on the volume is checked, whoever wrote it.
		if err := publishMeta(r, configFile, []byte("mode="+mode+"\n")); err != nil {
			return volume{}, err
		}
		if cfg, err := readMeta(r, configFile); err != nil {
			return volume{}, err
		} else if err := checkConfig(cfg, mode); err != nil {
			return volume{}, err
		}
	}
	return volume{id: id, mode: mode}, nil
}

// checkVolumeID refuses a volume id that is not 32 lower-case hex digits.
func checkVolumeID(id string) error {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return wrap("volume-id", volumeIDFile, fmt.Errorf("%w: malformed volume id", ErrBadVolume))
	}
	return nil
}

// checkConfig refuses a config that is malformed or records another mode.
func checkConfig(cfg, mode string) error {
	got, ok := strings.CutPrefix(cfg, "mode=")
	if !ok || (got != ModeRedis && got != ModeLocal) {
		return wrap("config", configFile, fmt.Errorf("%w: malformed config", ErrBadVolume))
	}
	if got != mode {
		return wrap("config", configFile, fmt.Errorf("%w: volume is in %s mode, this replica runs in %s mode", ErrModeMismatch, got, mode))
	}
	return nil
}

// mkdirMeta makes .sharedwrite/ and the directories in it. The locks
// directory is made here too, not only when a replica first opens the
// volume: a replica that mounts an initialised volume read-only cannot make
// it (without it, it finds no lock file until a writer has opened the
// volume).
func mkdirMeta(r *os.Root) error {
	for _, d := range []string{metaDir, txDir, locking.LocksDir} {
		if err := locking.MkdirShared(r, d, metaDirPerm); err != nil {
			return wrap("mkdir", d, badVolume(err))
		}
	}
	return nil
}

// badVolume marks err, met reading or making the volume's metadata, as
// ErrBadVolume (exit 5: the volume is not usable as it is), unless it is this
// process's shortage (out of descriptors or memory), which says nothing about
// the volume.
func badVolume(err error) error {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOMEM) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadVolume, err)
}

// readMeta reads a small metadata file, refusing anything but a regular file
// (a planted symlink never redirects the volume's identity).
func readMeta(r *os.Root, name string) (string, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", wrap("stat", name, badVolume(err))
	}
	if !fi.Mode().IsRegular() {
		return "", wrap("stat", name, fmt.Errorf("%w: not a regular file", ErrBadVolume))
	}
	b, err := r.ReadFile(name)
	if err != nil {
		return "", wrap("read", name, badVolume(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// publishMeta publishes name atomically: a temp written and fsynced, then
// link(2) to name, so a reader never sees it half-written and a concurrent
// publisher never replaces the first one (EEXIST: someone else won, fine).
func publishMeta(r *os.Root, name string, data []byte) error {
	dir, base := path.Split(name)
	tmp := dir + "." + base + "." + randomHex(4) + ".tmp"
	f, err := r.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return wrap("create temp", tmp, err)
	}
	defer r.Remove(tmp) //nolint:errcheck // the link keeps the content
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return wrap("write temp", tmp, err)
	}
	if err := r.Chmod(tmp, metaFilePerm); err != nil {
		return wrap("chmod", tmp, err)
	}
	if err := r.Link(tmp, name); err != nil && !errors.Is(err, fs.ErrExist) {
		return wrap("link", name, err)
	}
	if err := syncDir(r, path.Clean(dir)); err != nil {
		return wrap("fsync dir", dir, err)
	}
	return nil
}

func newVolumeID() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
