package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Readers that resolve the published link once see only whole versions, while
// a publisher keeps switching it; old versions are pruned.
func TestPublishDirReadersSeeWholeVersions(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	const versions, keep = 30, 2
	publish := func(v int) error {
		return c.PublishDir(ctx, "site/current", func(dir string) error {
			for _, f := range []string{"a", "b", "sub/c"} {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, []byte(strconv.Itoa(v)), 0o644); err != nil {
					return err
				}
			}
			return nil
		}, keep)
	}
	if err := publish(0); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads, torn atomic.Int64
	var wg sync.WaitGroup
	link := filepath.Join(root, "site/current")
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				target, err := os.Readlink(link)
				if err != nil {
					t.Errorf("readlink: %v", err)
					return
				}
				dir := filepath.Join(filepath.Dir(link), target)
				got := readPublished(t, dir)
				if got == nil {
					continue
				}
				reads.Add(1)
				if got[0] != got[1] || got[1] != got[2] {
					torn.Add(1)
					t.Errorf("mixed versions in one read: %v", got)
				}
			}
		}()
	}
	for v := 1; v <= versions; v++ {
		if err := publish(v); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("readers completed no read")
	}
	if got := readFile(t, filepath.Join(link, "sub/c")); got != strconv.Itoa(versions) {
		t.Fatalf("current = %s; want %d", got, versions)
	}
	es, err := os.ReadDir(filepath.Join(root, "site"))
	if err != nil {
		t.Fatal(err)
	}
	var vers int
	for _, e := range es {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".current.v") {
			vers++
		}
	}
	if vers > keep+1 {
		t.Fatalf("%d versions kept; want at most %d (keep %d + current)", vers, keep+1, keep)
	}
	rec, err := c.peekRecord("site/current")
	if err != nil || rec.Committed.Token != versions+1 {
		t.Fatalf("record of site/current: token %d, %v; want %d (one per publish, same key)", rec.Committed.Token, err, versions+1)
	}
	_ = context.Background
}

func TestCreateStreaming(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root)
	ctx := ctxT(t, 30*time.Second)
	f, err := c.Create(ctx, "big", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := f.Write([]byte(strings.Repeat(strconv.Itoa(i%10), 1000))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("target visible before Commit: %v", err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "big")); err != nil || fi.Size() != 100000 {
		t.Fatalf("after Commit: %v, %v; want 100000 bytes", fi, err)
	}
	// Abort leaves the old content and releases the lease.
	f, err = c.Create(ctx, "big", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "big")); fi.Size() != 100000 {
		t.Fatalf("after Abort: size %d; want 100000", fi.Size())
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.WriteFile(short, "big", []byte("x"), 0o600); err != nil {
		t.Fatalf("WriteFile after Abort: %v", err)
	}
}

// readPublished reads the files a, b and sub/c of the version directory dir;
// nil when the version was pruned under the reader (try again) or a read
// failed (reported).
func readPublished(t *testing.T, dir string) []string {
	var got []string
	for _, f := range []string{"a", "b", "sub/c"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Errorf("read: %v", err)
			return nil
		}
		got = append(got, string(b))
	}
	return got
}
