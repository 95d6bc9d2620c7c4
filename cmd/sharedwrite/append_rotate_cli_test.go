package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotateReopenedLogTwice: `sharedwrite rotate` (no
// --copytruncate) from cron on the log of a program that reopens it after
// each rotation: the second rotation must rotate what the program wrote since
// the first.
func TestRotateReopenedLogTwice(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	live := filepath.Join(v.root, "prog.log")
	for i, line := range []string{"first\n", "second\n"} {
		f, err := os.OpenFile(live, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
		r := v.run(t, "", "rotate", "prog.log")
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("rotate #%d of a log holding %q: exit %d, printed %q, stderr %q; want the rotated name", i+1, line, r.code, r.stdout, r.stderr)
		}
		if got := readAll(t, filepath.Join(v.root, strings.Trim(strings.TrimSpace(r.stdout), `"`))); got != line {
			t.Errorf("rotate #%d: rotated file holds %q; want %q", i+1, got, line)
		}
	}
}

// TestAppendRotateAtLongName: `append --rotate-at` on a valid
// 240-byte name keeps committing lines once the file is over the limit.
func TestAppendRotateAtLongName(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	name := strings.Repeat("n", 240)
	for i := range 3 {
		r := v.run(t, "line\n", "append", name, "--rotate-at", "1")
		if r.code != 0 {
			t.Fatalf("append #%d: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
}

// TestRotateGzipOutlivesTimeout: --timeout bounds the wait for the lease and
// the lock, not the compression after the rotation was made and the lease
// released. A 40 MiB log of random text takes longer than 1s to gzip (1.6 s
// of CPU here); the rotation must still end compressed with exit 0 (it
// exited 3 with the rotated file left plain, and every later rotate --gzip
// did the same). The timeout leaves the lease and the lock a loaded
// machine's margin.
func TestRotateGzipOutlivesTimeout(t *testing.T) {
	raw := make([]byte, 30<<20)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k] + "\n")
		enc = enc[k:]
	}
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if err := os.WriteFile(filepath.Join(v.root, "big.log"), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			r := v.run(t, "", "--timeout", "1s", "rotate", "big.log", "--gzip")
			rotated := strings.Trim(strings.TrimSpace(r.stdout), `"`)
			if r.code != 0 || !strings.HasSuffix(rotated, ".gz") {
				t.Fatalf("rotate --gzip --timeout 1s: exit %d, printed %q: %s; want exit 0 and the compressed name", r.code, rotated, strings.TrimSpace(r.stderr))
			}
			if _, err := os.Stat(filepath.Join(v.root, strings.TrimSuffix(rotated, ".gz"))); !os.IsNotExist(err) {
				t.Errorf("the plain rotated file is still there (stat: %v)", err)
			}
		})
	}
}
