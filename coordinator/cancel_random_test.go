package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileView is a goroutine's view of one of its own files.
type fileView struct {
	data   string
	exists bool
}

func readOS(root, name string) fileView {
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return fileView{}
	}
	return fileView{string(b), true}
}

// TestRandomCancellationOwnKeys runs every operation many times with a context
// cancelled at a random moment (0-5 ms), from several goroutines, through two
// coordinators on one root; each goroutine owns its files, so after every
// call the visible state must be exactly what the error implies.
func TestRandomCancellationOwnKeys(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) { runCancelOwned(t, m) })
	}
}

// outcomes counts, per operation, the calls that committed and that failed.
type outcomes struct {
	mu   sync.Mutex
	cnt  map[string][2]int // op -> [committed, failed]
	errs map[string]int    // distinct error texts (trimmed) -> count
}

func (s *outcomes) note(op string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.cnt[op]
	if isCommitted(err) {
		v[0]++
	} else {
		v[1]++
		msg := err.Error()
		if len(msg) > 160 {
			msg = msg[:160]
		}
		s.errs[op+": "+msg]++
	}
	s.cnt[op] = v
}

func runCancelOwned(t *testing.T, m mode) {
	base := countGoroutines()
	root := t.TempDir()
	spool := t.TempDir()
	c1, close1 := openWithClient(t, m, root)
	c2, close2 := openWithClient(t, m, root)
	cs := []*Coordinator{c1, c2}
	const G, iters = 8, 150
	st := &outcomes{cnt: map[string][2]int{}, errs: map[string]int{}}
	var wg sync.WaitGroup
	logRecs := make([][]string, G)
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)*7919 + time.Now().UnixNano()))
			own := fmt.Sprintf("own/g%d", g)
			txa, txb := fmt.Sprintf("tx/g%d-a", g), fmt.Sprintf("tx/g%d-b", g)
			pub := fmt.Sprintf("pub/g%d", g)
			logName := fmt.Sprintf("log/g%d", g)
			app := c1.Appender(logName)
			defer app.Close()
			var recs []string
			bg := func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Second)
			}
			fail := func(format string, a ...any) {
				t.Errorf("g%d: "+format, append([]any{g}, a...)...)
			}
			check := func(op string, n int, want fileView, err error) {
				got := readOS(root, own)
				if got != want {
					fail("%s #%d: err=%v; file %q exists=%v, want %q exists=%v", op, n, err, got.data, got.exists, want.data, want.exists)
				}
				// The record must agree for a fresh read through the other coordinator.
				ctx, cancel := bg()
				defer cancel()
				b, rerr := cs[r.Intn(2)].ReadFile(ctx, own)
				switch {
				case want.exists && (rerr != nil || string(b) != want.data):
					fail("%s #%d: ReadFile after = %q, %v; want %q", op, n, b, rerr, want.data)
				case !want.exists && !errors.Is(rerr, fs.ErrNotExist):
					fail("%s #%d: ReadFile after (absent) = %q, %v", op, n, b, rerr)
				}
			}
			for n := 0; n < iters; n++ {
				c := cs[r.Intn(2)]
				cur := readOS(root, own)
				ctx, cancel := randomCtx(r, []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond}[r.Intn(4)])
				tag := fmt.Sprintf("g%d-%d", g, n)
				op := r.Intn(16)
				switch op {
				case 0:
					err := c.WriteFile(ctx, own, []byte("w-"+tag), 0o644)
					st.note("write", err)
					want := cur
					if isCommitted(err) {
						want = fileView{"w-" + tag, true}
					}
					check("WriteFile", n, want, err)
				case 1:
					f, err := c.Create(ctx, own, 0o644)
					if err == nil {
						if _, werr := f.Write([]byte("c-" + tag)); werr != nil {
							err = werr
							f.Abort()
						} else {
							err = f.Commit(ctx)
						}
					}
					st.note("create", err)
					want := cur
					if isCommitted(err) {
						want = fileView{"c-" + tag, true}
					}
					check("Create/Commit", n, want, err)
				case 2:
					called := false
					err := c.Update(ctx, own, func(old []byte, exists bool) ([]byte, error) {
						if called {
							return nil, errors.New("fn called twice")
						}
						called = true
						if exists != cur.exists || string(old) != cur.data {
							fail("Update #%d: fn got %q,%v; file was %q,%v", n, old, exists, cur.data, cur.exists)
						}
						return append(old, "|u-"+tag...), nil
					})
					st.note("update", err)
					want := cur
					if isCommitted(err) {
						want = fileView{cur.data + "|u-" + tag, true}
					}
					check("Update", n, want, err)
				case 3:
					err := c.Remove(ctx, own)
					st.note("remove", err)
					want := cur
					if isCommitted(err) {
						if !cur.exists {
							fail("Remove #%d of an absent file returned nil", n)
						}
						want = fileView{}
					}
					check("Remove", n, want, err)
				case 4:
					var nested error = errors.New("not run")
					err := c.Lock(ctx, own, func(lctx context.Context, _ LeaseInfo) error {
						nested = c.WriteFile(lctx, own, []byte("l-"+tag), 0o644)
						return nil
					})
					st.note("lock", err)
					want := cur
					if isCommitted(nested) {
						want = fileView{"l-" + tag, true}
						if err != nil {
							// A nested commit happened but Lock reports failure.
							st.note("lock-nested-committed-but-lock-err", err)
						}
					}
					check("Lock", n, want, err)
				case 5:
					ca, cb := readOS(root, txa), readOS(root, txb)
					err := c.Tx(ctx, []TxFile{{Name: txa, Data: []byte("ta-" + tag)}, {Name: txb, Data: []byte("tb-" + tag)}})
					st.note("tx", err)
					ga, gb := readOS(root, txa), readOS(root, txb)
					if isCommitted(err) || (err != nil && strings.Contains(err.Error(), "the transaction is committed")) {
						if ga.data != "ta-"+tag || gb.data != "tb-"+tag {
							fail("Tx #%d committed (%v) but files %q %q", n, err, ga.data, gb.data)
						}
					} else if ga != ca || gb != cb {
						fail("Tx #%d failed (%v) but files changed: %q,%q -> %q,%q", n, err, ca.data, cb.data, ga.data, gb.data)
					}
				case 6, 7:
					var src string
					if op == 6 {
						src = filepath.Join(spool, fmt.Sprintf("m-%s", tag))
						os.WriteFile(src, []byte("m-"+tag), 0o644)
					} else {
						bctx, bc := bg()
						in := fmt.Sprintf("spool/g%d", g)
						if err := c.WriteFile(bctx, in, []byte("m-"+tag), 0o644); err != nil {
							fail("WriteFile spool: %v", err)
						}
						bc()
						src = filepath.Join(root, in)
					}
					err := c.Move(ctx, src, own)
					st.note(fmt.Sprintf("move%d", op), err)
					want := cur
					_, serr := os.Stat(src)
					if isCommitted(err) {
						want = fileView{"m-" + tag, true}
						if serr == nil {
							fail("Move #%d committed but src %s still there", n, src)
						}
					} else {
						if serr != nil {
							fail("Move #%d failed (%v) and src is gone: %v", n, err, serr)
						}
						os.Remove(src)
					}
					check("Move", n, want, err)
				case 8:
					name := fmt.Sprintf("init/g%d-%d", g, n)
					ran := 0
					data, err := c.InitOnce(ctx, name, func(context.Context) ([]byte, error) {
						ran++
						return []byte("i-" + tag), nil
					})
					st.note("initonce", err)
					got := readOS(root, name)
					if isCommitted(err) {
						if string(data) != "i-"+tag || got.data != "i-"+tag {
							fail("InitOnce #%d nil but data %q, file %q", n, data, got.data)
						}
					} else if got.exists {
						fail("InitOnce #%d failed (%v) but the file exists: %q", n, err, got.data)
					}
				case 9:
					dir := fmt.Sprintf("dirs/g%d/%d", g, n)
					err := c.MkdirAll(ctx, dir+"/x/y", 0o755)
					st.note("mkdir", err)
					_, serr := os.Stat(filepath.Join(root, dir, "x", "y"))
					_, serrTop := os.Stat(filepath.Join(root, dir))
					if isCommitted(err) && serr != nil {
						fail("MkdirAll #%d nil but %v", n, serr)
					}
					if !isCommitted(err) && serrTop == nil {
						fail("MkdirAll #%d failed (%v) but %s left behind", n, err, dir)
					}
				case 10:
					before := publishState(root, pub)
					err := c.PublishDir(ctx, pub, func(dir string) error {
						return os.WriteFile(filepath.Join(dir, "v"), []byte("p-"+tag), 0o644)
					}, 2)
					st.note("publish", err)
					after := publishState(root, pub)
					if isCommitted(err) {
						if after.cur != "p-"+tag {
							fail("PublishDir #%d nil but current %q", n, after.cur)
						}
					} else if after.cur != before.cur || after.versions != before.versions {
						fail("PublishDir #%d failed (%v) but state changed: %+v -> %+v", n, err, before, after)
					}
				case 11:
					rec := "a-" + tag + "\n"
					err := app.Append(ctx, []byte(rec))
					st.note("append", err)
					if err == nil {
						recs = append(recs, rec)
					} else if errors.Is(err, ErrOutcomeUnknown) {
						fail("Append #%d outcome unknown: %v", n, err)
					}
				case 12:
					rot, err := c.Rotate(ctx, logName)
					st.note("rotate", err)
					if err != nil && rot.Name == "" && errors.Is(err, ErrOutcomeUnknown) {
						fail("Rotate #%d outcome unknown: %v", n, err)
					}
				case 13:
					b, err := c.ReadFile(ctx, own)
					st.note("read", err)
					if err == nil && (!cur.exists || string(b) != cur.data) {
						fail("ReadFile #%d = %q; file is %q", n, b, cur.data)
					}
					if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !(errors.Is(err, fs.ErrNotExist) && !cur.exists) {
						fail("ReadFile #%d: unexpected error %v", n, err)
					}
				case 14:
					err := c.Watch(ctx, own, func(context.Context, Change) error { return nil }, WatchInitial(), WatchInterval(time.Millisecond))
					st.note("watch", err)
					if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						fail("Watch #%d: returned %v; want the ctx's error", n, err)
					}
				case 15:
					older := time.Hour
					if r.Intn(2) == 0 {
						older = 0
					}
					_, err := c.Sweep(ctx, older)
					st.note(fmt.Sprintf("sweep(%v)", older), err)
					if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						fail("Sweep #%d: %v", n, err)
					}
				}
				cancel()
			}
			logRecs[g] = recs
		}(g)
	}
	wg.Wait()

	if lo := leftoverTemps(t, root); len(lo) > 0 {
		t.Errorf("left over after all calls returned: %v", lo)
	}
	if ents, _ := os.ReadDir(spool); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in the spool (intents?): %v", names)
	}

	// Logs: rotated files (oldest first) + live = the acknowledged records.
	for g := 0; g < G; g++ {
		logName := fmt.Sprintf("log/g%d", g)
		rf, err := c1.RotatedFiles(logName)
		if err != nil {
			t.Errorf("RotatedFiles: %v", err)
			continue
		}
		sort.SliceStable(rf, func(i, j int) bool { return rf[i].Token < rf[j].Token })
		var all strings.Builder
		for _, f := range rf {
			b, _ := os.ReadFile(filepath.Join(root, f.Name))
			all.Write(b)
		}
		live, _ := os.ReadFile(filepath.Join(root, logName))
		all.Write(live)
		if want := strings.Join(logRecs[g], ""); all.String() != want {
			t.Errorf("log g%d: content (%d rotated files) =\n%q\nwant\n%q", g, len(rf), all.String(), want)
		}
	}

	// A fresh coordinator reads and updates every file without a record error.
	c3, close3 := openWithClient(t, m, root)
	ctx := ctxT(t, 60*time.Second)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err != nil || d.IsDir() || strings.HasPrefix(rel, ".sharedwrite") || d.Type()&fs.ModeSymlink != 0 || strings.HasPrefix(rel, "pub") {
			return nil
		}
		if _, err := c3.ReadFile(ctx, rel); err != nil {
			t.Errorf("fresh ReadFile %s: %v", rel, err)
		}
		if strings.HasPrefix(rel, "log/") {
			return nil
		}
		if err := c3.Update(ctx, rel, func(old []byte, _ bool) ([]byte, error) { return old, nil }); err != nil {
			t.Errorf("fresh Update %s: %v", rel, err)
		}
		return nil
	})
	rep, err := c3.Sweep(ctx, 0)
	if err != nil || rep.IntentsCompleted+rep.IntentsDiscarded+rep.IntentTemps > 0 {
		t.Errorf("final Sweep: %+v, %v", rep, err)
	}
	t.Logf("final sweep report: %+v", rep)

	for _, cl := range []func() error{close1, close2, close3} {
		if err := cl(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	st.mu.Lock()
	ops := make([]string, 0, len(st.cnt))
	for k := range st.cnt {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	for _, k := range ops {
		t.Logf("%-40s committed=%d failed=%d", k, st.cnt[k][0], st.cnt[k][1])
	}
	var es []string
	for k, v := range st.errs {
		es = append(es, fmt.Sprintf("%4d %s", v, k))
	}
	sort.Strings(es)
	if testing.Verbose() && os.Getenv("P2_ERRS") != "" {
		for _, e := range es {
			t.Log(e)
		}
	}
	st.mu.Unlock()
	if n, dump := settleGoroutines(base, 5*time.Second); n > base {
		t.Errorf("goroutines: %d before, %d after Close:\n%s", base, n, ownStacks(dump))
	}
}

func countGoroutines() int {
	n, _ := settleGoroutines(0, 0)
	return n
}

type publishStat struct {
	cur      string
	versions int
}

func publishState(root, pub string) publishStat {
	var s publishStat
	b, err := os.ReadFile(filepath.Join(root, pub, "v"))
	if err == nil {
		s.cur = string(b)
	}
	dir, base := filepath.Split(filepath.Join(root, pub))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "."+base+".v") {
			s.versions++
		}
	}
	return s
}
