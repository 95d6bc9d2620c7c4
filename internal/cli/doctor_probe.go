package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metaDir is the volume's own directory; doctorDir is where doctor's probe
// files live (removed when it ends).
const (
	metaDir   = ".sharedwrite"
	doctorDir = metaDir + "/doctor"
)

// fsInfo is what doctor learns about the filesystem that holds the root.
type fsInfo struct {
	Type       string   `json:"type"`        // ext4, xfs, tmpfs, overlay, fuse.sshfs, nfs4, ... ("" unknown)
	Magic      string   `json:"magic"`       // statfs f_type
	MountType  string   `json:"mount_type"`  // from mountinfo
	MountPoint string   `json:"mount_point"` // from mountinfo
	Source     string   `json:"source"`
	Options    []string `json:"options"`
}

// option returns the value of a mount option ("" for a flag) and whether it is set.
func (fi fsInfo) option(name string) (string, bool) {
	for _, o := range fi.Options {
		k, v, _ := strings.Cut(o, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

func (fi fsInfo) isNFS() bool  { return strings.HasPrefix(fi.Type, "nfs") }
func (fi fsInfo) isFUSE() bool { return fi.Type == "fuse" || strings.HasPrefix(fi.Type, "fuse.") }

// localFS lists filesystems that only one host can mount: every process that
// sees the volume (containers sharing it included) sees its file locks.
var localFS = []string{"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "f2fs", "ramfs", "apfs", "hfs"}

// lockScope says how far a flock on this filesystem reaches.
type lockScope string

const (
	scopeHost    lockScope = "host"    // a local filesystem: every process on this host
	scopeCluster lockScope = "cluster" // a network filesystem that forwards locks to the server
	scopeMount   lockScope = "mount"   // local to each mount: other hosts never see it
	scopeUnknown lockScope = "unknown"
)

func (fi fsInfo) lockScope() (lockScope, string) {
	switch {
	case slices.Contains(localFS, fi.Type):
		return scopeHost, fi.Type + " is a local filesystem: every process on this host sees the lock"
	case fi.isNFS():
		if _, ok := fi.option("nolock"); ok {
			return scopeMount, "NFS mounted with nolock: locks stay on each client"
		}
		if v, ok := fi.option("local_lock"); ok && (v == "flock" || v == "all") {
			return scopeMount, "NFS mounted with local_lock=" + v + ": flock locks stay on each client"
		}
		return scopeCluster, "NFS forwards flock to the server's lock manager"
	case fi.isFUSE():
		return scopeMount, fi.Type + " (FUSE): locks stay local to each mount"
	}
	return scopeUnknown, "unknown filesystem " + strconv.Quote(fi.Type) + ": run 'doctor --peer' on two replicas"
}

// staleWindow is how long another host's caches may serve an old version after
// a rename: twice the longest attribute/lookup cache time the options allow.
func (fi fsInfo) staleWindow() (time.Duration, string) {
	if slices.Contains(localFS, fi.Type) {
		return 0, "coherent local caches"
	}
	if fi.isNFS() {
		if _, ok := fi.option("noac"); ok {
			return 0, "noac"
		}
		longest, src := 60*time.Second, "NFS default acregmax/acdirmax 60s"
		if v, ok := fi.option("actimeo"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				longest, src = time.Duration(n)*time.Second, "actimeo="+v
			}
		} else {
			longest = 0
			for _, k := range []string{"acregmax", "acdirmax"} {
				d := 60 * time.Second
				if v, ok := fi.option(k); ok {
					if n, err := strconv.Atoi(v); err == nil {
						d = time.Duration(n) * time.Second
					}
				}
				longest = max(longest, d)
			}
			src = "acregmax/acdirmax"
		}
		return 2 * longest, "2 x " + src
	}
	// Other filesystems that show cache times (CIFS: actimeo, or acregmax
	// and acdirmax) are read as the coordinator reads them (staleWindowFor):
	// doctor prints the window the volume's writers use.
	var longest time.Duration
	var src []string
	for _, o := range fi.Options {
		k, v, ok := strings.Cut(o, "=")
		switch {
		case !ok && k == "noac":
			src = append(src, k)
		case !ok:
		case slices.Contains([]string{"actimeo", "acregmax", "acdirmax", "acregmin", "acdirmin",
			"attr_timeout", "entry_timeout", "negative_timeout", "dcache_timeout", "cache_timeout"}, k):
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
				longest = max(longest, time.Duration(f*float64(time.Second)))
				src = append(src, o)
			}
		}
	}
	if len(src) > 0 {
		return 2 * longest, "2 x the longest of " + strings.Join(src, ",")
	}
	if fi.isFUSE() {
		return 30 * time.Second, "cache times unknown (FUSE daemons do not show theirs)"
	}
	return 30 * time.Second, "cache times unknown (the mount options show none)"
}

// fsProbe is the outcome of doctor's filesystem probes.
type fsProbe struct {
	Rounds      int           `json:"rounds"`      // temp + rename rounds completed (0: not probed)
	SameDevice  bool          `json:"same_device"` // the temps on the root's device (false when rounds is 0)
	RenameErr   string        `json:"rename_error,omitempty"`
	Link        string        `json:"link"`             // "ok", or why not
	NoReplace   string        `json:"rename_noreplace"` // "ok", or why not
	DirFsync    string        `json:"dir_fsync"`        // "accepted", or the error
	FileLock    string        `json:"file_lock"`        // "works", or why not
	Fsync       time.Duration `json:"fsync_max_ns"`
	Rename      time.Duration `json:"rename_max_ns"`
	DirSync     time.Duration `json:"dir_fsync_max_ns"`
	ProbeErrors []string      `json:"probe_errors,omitempty"`
}

const doctorRounds = 5

// notProbed stands in an fsProbe field for a probe that did not run, an
// earlier step having failed (see ProbeErrors).
const notProbed = "not probed"

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// probeFiles runs the write-path probes under <root>/.sharedwrite/doctor: temp +
// fsync + rename + directory fsync (timed), create-only commits by link(2) and
// RENAME_NOREPLACE, and whether a second open of a file sees a flock. A
// probe file it cannot remove is named in ProbeErrors.
func probeFiles(root *os.Root) (p fsProbe) {
	p = fsProbe{Link: notProbed, NoReplace: notProbed, DirFsync: notProbed, FileLock: notProbed}
	fail := func(step string, err error) { p.ProbeErrors = append(p.ProbeErrors, step+": "+err.Error()) }
	if err := root.MkdirAll(doctorDir, 0o770); err != nil {
		fail("mkdir "+strconv.Quote(doctorDir), err)
		return p
	}
	prefix := doctorDir + "/probe." + randomHex(4) + "."
	var made []string
	defer func() {
		for _, n := range made {
			// A temp renamed onto the target is gone already.
			if err := root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fail("clean up: remove "+strconv.Quote(n), err)
			}
		}
	}()
	create := func(name string) error {
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		made = append(made, name)
		_, err = f.Write(bytes.Repeat([]byte{'x'}, 4096))
		if err == nil {
			t := time.Now()
			err = f.Sync()
			p.Fsync = max(p.Fsync, time.Since(t))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	dirf, err := root.Open(doctorDir)
	if err != nil {
		fail("open "+strconv.Quote(doctorDir), err)
		return p
	}
	defer dirf.Close()
	rootInfo, _ := root.Stat(".")
	target := prefix + "target"
	// Same device only once a round has renamed its temp onto the target:
	// a probe stopped before that has not seen it.
	otherDevice := false
	for i := range doctorRounds {
		temp := prefix + "tmp" + strconv.Itoa(i)
		if err := create(temp); err != nil {
			fail("write "+strconv.Quote(temp), err)
			return p
		}
		if ti, err := root.Stat(temp); err == nil && rootInfo != nil {
			a, ok1 := fileDevice(ti)
			b, ok2 := fileDevice(rootInfo)
			if ok1 && ok2 && a != b {
				otherDevice = true
			}
		}
		t := time.Now()
		if err := root.Rename(temp, target); err != nil {
			p.RenameErr = err.Error()
			if errors.Is(err, errEXDEV()) {
				p.SameDevice = false
			}
			return p
		}
		p.Rename = max(p.Rename, time.Since(t))
		if i == 0 {
			// Cleaned up once it exists: on a read-only root the remove of
			// a target never made would fail (EROFS) and add an error.
			made = append(made, target)
		}
		t = time.Now()
		if err := dirf.Sync(); err != nil {
			p.DirFsync = err.Error()
		} else {
			p.DirSync = max(p.DirSync, time.Since(t))
			if p.DirFsync == notProbed {
				p.DirFsync = "accepted"
			}
		}
		p.Rounds++
		p.SameDevice = !otherDevice
	}

	// Create-only: link(2) onto an existing name must fail with EEXIST, onto a
	// new name succeed; the same for renameat2(RENAME_NOREPLACE).
	src := prefix + "src"
	if err := create(src); err != nil {
		fail("write "+strconv.Quote(src), err)
		return p
	}
	p.Link = createOnlyCheck(func(dst string) error { return root.Link(src, dst) }, target, prefix+"linked", &made)
	p.NoReplace = createOnlyCheck(func(dst string) error {
		if err := renameNoReplace(dirf.Fd(), baseName(src), baseName(dst)); err != nil {
			return &os.LinkError{Op: "renameat2 RENAME_NOREPLACE", Old: src, New: dst, Err: err}
		}
		return nil
	}, target, prefix+"renamed", &made)

	p.FileLock = probeFlock(root, prefix+"lock", &made)
	return p
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// createOnlyCheck runs op onto an existing name (must fail with EEXIST) and a
// new one (must succeed).
func createOnlyCheck(op func(dst string) error, existing, fresh string, made *[]string) string {
	err := op(existing)
	switch {
	case err == nil:
		return "replaced an existing file (not create-only)"
	case errors.Is(err, errors.ErrUnsupported):
		return "not available on this platform"
	case !errors.Is(err, fs.ErrExist):
		return "refused: " + err.Error()
	}
	*made = append(*made, fresh)
	if err := op(fresh); err != nil {
		return "refused: " + err.Error()
	}
	return "ok"
}

// probeFlock opens name twice (two open file descriptions, as two processes
// would have) and checks that the second sees the first's flock.
func probeFlock(root *os.Root, name string, made *[]string) string {
	a, err := root.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "open: " + err.Error()
	}
	*made = append(*made, name)
	defer a.Close()
	b, err := root.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return "open: " + err.Error()
	}
	defer b.Close()
	if held, err := tryFlock(a); err != nil {
		return fmt.Sprintf("flock %s refused: %v", strconv.Quote(name), err)
	} else if held {
		return fmt.Sprintf("flock %s refused: held by another open file already", strconv.Quote(name))
	}
	defer unflock(a)
	held, err := tryFlock(b)
	if err != nil {
		return fmt.Sprintf("second flock %s: %v", strconv.Quote(name), err)
	}
	if !held {
		unflock(b)
		return "NOT enforced: a second open file took the same lock"
	}
	return "works"
}
