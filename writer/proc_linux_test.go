//go:build linux

package writer

import (
	"os"
	"syscall"
	"testing"
)

// A start time that could not be read (out of descriptors) names that temp
// with "0" but is read again for the next one: kept, every later temp of the
// process would look like a dead process's to a sweeper that reads the real
// start time.
func TestProcStartRetried(t *testing.T) {
	want := startOf(os.Getpid())
	if want == "" {
		t.Skip("/proc/self/stat unreadable")
	}
	startMu.Lock()
	saved := startPart
	startPart = ""
	startMu.Unlock()
	t.Cleanup(func() {
		startMu.Lock()
		startPart = saved
		startMu.Unlock()
	})
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	free, err := syscall.Dup(0) // the lowest free descriptor
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(free)
	low := lim
	low.Cur = uint64(free)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	first := procStart()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if first != "0" {
		t.Fatalf("procStart with no descriptor free = %q; want 0 (the setup did not take)", first)
	}
	if got := procStart(); got != want {
		t.Errorf("procStart after the descriptors came back = %q; want %q (the failure was kept)", got, want)
	}
}
