//go:build linux

package sshhost_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/netns"
	"github.com/sharedwrite/sharedwrite/internal/testrig/sshhost"
	"golang.org/x/sys/unix"
)

func TestCoherentMountsSeeEachOther(t *testing.T) {
	h, ms := sshhost.Mounts(t, 2, sshhost.Coherent)
	a, b := ms[0], ms[1]
	if err := os.WriteFile(a.Path("f"), []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{b.Path("f"), filepath.Join(h.Export, "f")} {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != "v1" {
			t.Fatalf("read %s after a write on mount A: got %q, %v; want %q", p, got, err, "v1")
		}
	}
	// A replace by rename on A is seen at once on B, content and size.
	if err := os.WriteFile(a.Path("f.tmp"), []byte("version 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a.Path("f.tmp"), a.Path("f")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(b.Path("f")); err != nil || string(got) != "version 2" {
		t.Fatalf("read on mount B after a rename on A: got %q, %v; want %q", got, err, "version 2")
	}
	if _, err := os.Stat(b.Path("f.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat of the renamed temp on B: got %v; want not exist", err)
	}
}

func TestShortCacheIsStaleThenFresh(t *testing.T) {
	_, ms := sshhost.Mounts(t, 2, sshhost.Short)
	a, b := ms[0], ms[1]
	if err := os.WriteFile(a.Path("f"), []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(b.Path("f")); err != nil || st.Size() != 2 {
		t.Fatalf("stat on B: %v, %v; want size 2", st, err)
	}
	if err := os.WriteFile(a.Path("f"), []byte("version 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := os.Stat(b.Path("f"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 2 {
		t.Fatalf("size on B right after A's write: got %d; want the cached 2 (a stale view)", st.Size())
	}
	for st.Size() != 9 {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("size on B after %v: got %d; want 9 once the 2 s attribute cache expired", time.Since(start), st.Size())
		}
		time.Sleep(50 * time.Millisecond)
		if st, err = os.Stat(b.Path("f")); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("mount B saw the new size after %v", time.Since(start).Round(time.Millisecond))
}

func TestFlockDoesNotPropagate(t *testing.T) {
	_, ms := sshhost.Mounts(t, 2, sshhost.Coherent)
	a, b := ms[0], ms[1]
	if err := os.WriteFile(a.Path("lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	open := func(p string) *os.File {
		t.Helper()
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	fa, fb, fa2 := open(a.Path("lock")), open(b.Path("lock")), open(a.Path("lock"))
	if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("flock on mount A: %v", err)
	}
	// Within one mount the kernel enforces the lock ...
	if err := unix.Flock(int(fa2.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second flock on mount A: got %v; want EWOULDBLOCK", err)
	}
	// ... but mount B does not see it: both hold LOCK_EX at once.
	if err := unix.Flock(int(fb.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("flock on mount B while A holds LOCK_EX: got %v; want success (locks do not propagate over sshfs)", err)
	}
}

func TestUnmountAndMountedCheck(t *testing.T) {
	h := sshhost.Start(t)
	m := h.Mount(t, sshhost.Default)
	if !m.Mounted() {
		t.Fatalf("%s not a mount point after Mount", m.Dir)
	}
	if err := os.WriteFile(m.Path("f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if m.Mounted() {
		t.Fatalf("%s still a mount point after Unmount", m.Dir)
	}
	// The export keeps the file; the bare mount point does not show it.
	if _, err := os.Stat(filepath.Join(h.Export, "f")); err != nil {
		t.Fatalf("file in the export: %v", err)
	}
	if _, err := os.Stat(m.Path("f")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file under the unmounted mount point: got %v; want not exist", err)
	}
}

func TestPartitionStallsTheMount(t *testing.T) {
	ns := netns.New(t)
	h := sshhost.StartIn(t, ns)
	a := h.Mount(t, sshhost.Coherent)
	if err := os.WriteFile(a.Path("f"), []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(h.Export, "f")); err != nil || string(got) != "v1" {
		t.Fatalf("export after a write through the mount: got %q, %v; want %q", got, err, "v1")
	}

	ns.Partition(t)
	done := make(chan error, 1)
	go func() {
		_, err := os.Stat(a.Path("f"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("stat on the mount during a partition returned (%v); want it to stall", err)
	case <-time.After(2 * time.Second):
	}

	ns.Heal(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stat after Heal: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("stat still stalled 60s after Heal")
	}
}

func TestDeadSshfsIsNotMounted(t *testing.T) {
	h := sshhost.Start(t)
	m := h.Mount(t, sshhost.Coherent)
	p, err := os.FindProcess(m.PID())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Mounted() {
		if time.Now().After(deadline) {
			t.Fatalf("%s still reported mounted 10s after sshfs was killed", m.Dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Unmount(); err != nil {
		t.Fatalf("Unmount of a dead mount: %v", err)
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), " "+m.Dir+" ") {
		t.Fatalf("%s still in the mount table after Unmount", m.Dir)
	}
}
