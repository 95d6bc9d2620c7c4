//go:build linux

// Package sshhost gives a test several "hosts" that share one volume: a
// private sshd on a free loopback port exports a directory, and each host is
// an sshfs mount of it. The mounts behave like clients of a network
// filesystem: renames are atomic (posix-rename), attributes and directory
// entries are cached for a configurable time (see Cache), and flock(2) and
// fcntl(2) locks do NOT propagate between the mounts — each is local to its
// mount.
//
// The sshd has its own configuration, host key and authorized key under
// t.TempDir(), writes no pid file and listens only on 127.0.0.1, so it never
// touches a system sshd. Everything is torn down on cleanup: the mounts are
// unmounted (lazily if busy) and sshfs and sshd are killed by pid.
package sshhost

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/mountinfo"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/netns"
)

// Cache selects the caching of an sshfs mount.
type Cache string

const (
	// Coherent disables the caches: a change made through one mount is
	// seen at once through another.
	Coherent Cache = "coherent"
	// Short caches attributes and directory entries for 2 s: another
	// mount's view is stale for up to a few seconds.
	Short Cache = "short"
	// Default keeps sshfs's defaults: another mount's view can be stale for
	// about 20 s, like an NFS client's attribute cache.
	Default Cache = "default"
)

// options returns the sshfs -o options of a cache mode.
func (c Cache) options() ([]string, error) {
	switch c {
	case Coherent:
		return []string{"dir_cache=no", "attr_timeout=0", "entry_timeout=0", "negative_timeout=0"}, nil
	case Short:
		return []string{"attr_timeout=2", "dcache_timeout=2"}, nil
	case Default, "":
		return nil, nil
	}
	return nil, fmt.Errorf("sshhost: unknown cache mode %q", string(c))
}

// Host is a private sshd exporting one directory.
type Host struct {
	// Export is the exported directory (a local path: writing here is
	// writing on the "server").
	Export string
	// Addr is the address sshd listens on: 127.0.0.1, or the namespace's
	// address for StartIn.
	Addr string
	// Port is the sshd's port.
	Port int
	// Key is the private key that logs in as root.
	Key string

	dir  string
	sshd *exec.Cmd
	log  *testrig.SyncBuffer
}

// Start starts a private sshd on 127.0.0.1 exporting a new directory; it is
// stopped on cleanup. It needs root, sshd, ssh-keygen, sshfs and fusermount3
// (or the test is skipped, see testrig.Unavailable).
func Start(t testing.TB) *Host {
	t.Helper()
	return start(t, nil)
}

// StartIn is Start with sshd running inside the network namespace ns,
// listening on ns.NSIP: the mounts reach it over the veth link, so
// ns.Partition cuts them off from their server.
func StartIn(t testing.TB, ns *netns.NS) *Host {
	t.Helper()
	return start(t, ns)
}

func start(t testing.TB, ns *netns.NS) *Host {
	t.Helper()
	testrig.NeedRoot(t)
	sshd := testrig.NeedBinary(t, "sshd")
	keygen := testrig.NeedBinary(t, "ssh-keygen")
	testrig.NeedBinary(t, "sshfs")
	testrig.NeedBinary(t, "fusermount3")
	testrig.NeedBinary(t, "mountpoint")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		testrig.Unavailable(t, "no /dev/fuse: "+err.Error())
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		testrig.Unavailable(t, "mkdir /run/sshd: "+err.Error())
	}

	dir := t.TempDir()
	h := &Host{
		Export: filepath.Join(dir, "export"),
		Key:    filepath.Join(dir, "id_ed25519"),
		Addr:   "127.0.0.1",
		dir:    dir,
		log:    &testrig.SyncBuffer{},
	}
	if ns != nil {
		h.Addr = ns.NSIP
	}
	if err := os.Mkdir(h.Export, 0o755); err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, k := range []string{hostKey, h.Key} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sharedwrite-test", "-f", k).CombinedOutput()
		if err != nil {
			t.Fatalf("sshhost: ssh-keygen -f %s: %v: %s", k, err, out)
		}
	}
	pub, err := os.ReadFile(h.Key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		t.Fatal(err)
	}

	var cmd *exec.Cmd
	for attempt := 0; ; attempt++ {
		// A port free here is as good a guess as any inside a new
		// namespace, where nothing else listens.
		port, err := testrig.FreePort()
		if err != nil {
			t.Fatalf("sshhost: free port: %v", err)
		}
		config := filepath.Join(dir, "sshd_config")
		conf := strings.Join([]string{
			"Port " + strconv.Itoa(port),
			"ListenAddress " + h.Addr,
			"HostKey " + hostKey,
			"AuthorizedKeysFile " + authorized,
			"PidFile none",
			"PermitRootLogin yes",
			"StrictModes no",
			"UsePAM no",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"Subsystem sftp internal-sftp",
			"LogLevel ERROR",
			"",
		}, "\n")
		if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		h.log.Reset()
		cmd = exec.Command(sshd, "-D", "-e", "-f", config)
		if ns != nil {
			cmd = ns.Command(sshd, "-D", "-e", "-f", config)
		}
		cmd.Stdout, cmd.Stderr = h.log, h.log
		if err := cmd.Start(); err != nil {
			testrig.Unavailable(t, "start sshd: "+err.Error())
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// The port answering is not proof enough: another process may
		// have taken it between FreePort and sshd's bind (sshd then exits,
		// but perhaps only after the dial). The sshd started here must
		// hold the listening socket itself.
		if waitPort(h.Addr, port, exited, 30*time.Second) && listens(cmd.Process.Pid, port) {
			h.Port = port
			h.sshd = cmd
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			break
		}
		cmd.Process.Kill()
		<-exited
		if attempt == 2 {
			t.Fatalf("sshhost: sshd -f %s (pid %d) did not listen on port %d: %s", config, cmd.Process.Pid, port, h.log.String())
		}
	}
	return h
}

// waitPort reports whether host:port accepts connections before the process
// exits or the time is up.
func waitPort(host string, port int, exited <-chan struct{}, within time.Duration) bool {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// listens reports whether the process pid holds a listening TCP socket on
// port: one of its descriptors is a socket whose inode its network
// namespace's TCP table lists in state LISTEN (0A) on that local port.
func listens(pid, port int) bool {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when
		// retrnsmt uid timeout inode ...; addresses are hex ADDR:PORT.
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if p, err := strconv.ParseUint(f[1][i+1:], 16, 16); i >= 0 && err == nil && int(p) == port {
				return true
			}
		}
	}
	return false
}

// PID returns the sshd's process id.
func (h *Host) PID() int { return h.sshd.Process.Pid }

// Log returns what sshd has logged so far.
func (h *Host) Log() string { return h.log.String() }

// Mount mounts the export with sshfs on a new directory and returns it. The
// mount is unmounted on cleanup. It fails the test if sshfs does not mount
// (if sshfs dies the mount point is silently an empty local directory, so
// the mount is checked with mountpoint(1)).
func (h *Host) Mount(t testing.TB, cache Cache) *Mount {
	t.Helper()
	extra, err := cache.options()
	if err != nil {
		t.Fatal(err)
	}
	m := &Mount{Dir: t.TempDir(), Cache: cache, log: &testrig.SyncBuffer{}}
	opts := append([]string{
		"IdentityFile=" + h.Key,
		"StrictHostKeyChecking=no",
		"UserKnownHostsFile=/dev/null",
		"BatchMode=yes",
		"LogLevel=ERROR",
		"port=" + strconv.Itoa(h.Port),
		"reconnect",
	}, extra...)
	// -f keeps sshfs in the foreground, so its pid is known and it can be
	// killed on cleanup.
	cmd := exec.Command("sshfs", "-f", "-o", strings.Join(opts, ","), "root@"+h.Addr+":"+h.Export, m.Dir)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshhost: start sshfs: %v", err)
	}
	m.cmd = cmd
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("sshhost: %v", err)
		}
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(15 * time.Second)
	for !m.Mounted() {
		select {
		case <-exited:
			t.Fatalf("sshhost: sshfs exited before mounting %s: %s", m.Dir, m.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshhost: sshfs did not mount %s within 15s: %s", m.Dir, m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m
}

// Mounts starts a host and mounts its export n times with the same cache mode.
func Mounts(t testing.TB, n int, cache Cache) (*Host, []*Mount) {
	t.Helper()
	h := Start(t)
	ms := make([]*Mount, n)
	for i := range ms {
		ms[i] = h.Mount(t, cache)
	}
	return h, ms
}

// Mount is one sshfs mount of a Host's export.
type Mount struct {
	// Dir is the mount point.
	Dir   string
	Cache Cache

	cmd       *exec.Cmd
	log       *testrig.SyncBuffer
	unmountMu sync.Mutex
	unmounted bool
}

// Mounted reports whether Dir is still a mount point (false once sshfs died).
func (m *Mount) Mounted() bool {
	return exec.Command("mountpoint", "-q", m.Dir).Run() == nil
}

// PID returns the sshfs process id.
func (m *Mount) PID() int { return m.cmd.Process.Pid }

// Unmount unmounts the mount (lazily if busy). It is also done on cleanup; a
// second call is a no-op.
func (m *Mount) Unmount() error {
	m.unmountMu.Lock()
	defer m.unmountMu.Unlock()
	if m.unmounted {
		return nil
	}
	m.unmounted = true
	// A mount whose sshfs died is no longer a working mount point but is
	// still in the mount table ("transport endpoint is not connected").
	if !inMountTable(m.Dir) {
		return nil
	}
	out, err := exec.Command("fusermount3", "-u", m.Dir).CombinedOutput()
	if err == nil {
		return nil
	}
	out2, err2 := exec.Command("fusermount3", "-u", "-z", m.Dir).CombinedOutput()
	if err2 == nil {
		return nil
	}
	if err3 := syscall.Unmount(m.Dir, syscall.MNT_DETACH); err3 != nil {
		return fmt.Errorf("unmount %s: fusermount3 -u: %v %s; -z: %v %s; umount -l: %v", m.Dir, err, bytes.TrimSpace(out), err2, bytes.TrimSpace(out2), err3)
	}
	return nil
}

// inMountTable reports whether dir is a mount point in /proc/self/mounts.
func inMountTable(dir string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return true // unknown: try to unmount
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// Spaces and some other bytes in the path are octal-escaped.
		if len(f) > 1 && mountinfo.Unescape(f[1]) == dir {
			return true
		}
	}
	return false
}

// Path returns the path of rel inside the mount.
func (m *Mount) Path(rel string) string { return filepath.Join(m.Dir, rel) }
