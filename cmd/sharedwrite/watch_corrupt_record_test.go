package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// TestWatchEndsWhenRecordTurnsCorrupt: a watch already running when its
// key's lock record turns corrupt ends with exit 5, naming the key, the lock
// file and what is wrong, as every other operation on the key refuses; it
// does not wait on a record that only repair-record can mend.
func TestWatchEndsWhenRecordTurnsCorrupt(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := newVolume(t, m)
			if r := v.run(t, "one", "write", "cfg"); r.code != 0 {
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			w := v.start(t, "watch", "cfg")
			// The watch has started once it reports a version written after it.
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(w.out.String(), `"cfg"`) {
				if time.Now().After(deadline) || !w.running() {
					t.Fatalf("watch reported no new version; stdout %q, stderr %q", w.out.String(), w.errb.String())
				}
				if r := v.run(t, "two", "write", "cfg"); r.code != 0 {
					t.Fatalf("write: exit %d: %s", r.code, r.stderr)
				}
				time.Sleep(50 * time.Millisecond)
			}

			rel := locking.LockPath("cfg")
			f, err := os.OpenFile(filepath.Join(v.root, rel), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			// One byte of the committed section: its checksum fails.
			if _, err := f.WriteAt([]byte{0xAA}, 530); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if r := v.run(t, "three", "write", "cfg"); r.code != 5 {
				t.Fatalf("write over the corrupt record: exit %d (%s); want 5", r.code, r.stderr)
			}

			code := w.wait(t, 30*time.Second)
			stderr := w.errb.String()
			if code != 5 {
				t.Fatalf("watch after its record turned corrupt: exit %d, stderr %q; want 5", code, stderr)
			}
			for _, want := range []string{`"cfg"`, filepath.Base(rel), "corrupt lock record", "committed checksum"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("watch's error %q does not name %q", stderr, want)
				}
			}
		})
	}
}
