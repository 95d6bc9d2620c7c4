package testrig

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
)

// BuildCLI builds cmd/sharedwrite into dir and returns the binary's path. It
// is built without -race whatever the test binary uses: the processes are
// the subject of the tests that run it, not the test binary. It works from
// any directory inside the module, so a TestMain can call it once.
func BuildCLI(dir string) (string, error) {
	bin := filepath.Join(dir, "sharedwrite")
	const pkg = "github.com/sharedwrite/sharedwrite/cmd/sharedwrite"
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s %s: %v\n%s", bin, pkg, err, out)
	}
	return bin, nil
}

// SyncBuffer is a bytes.Buffer safe to read while a child process writes it.
// The zero value is an empty buffer ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset empties the buffer.
func (b *SyncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}
