package coordinator

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRandomCancellationSharedKeys: many goroutines on two coordinators increment one
// counter with Update (random cancellation), and write unique contents to a
// shared file with WriteFile; a background reader records every content it
// sees. A failed Update must not have counted, a failed WriteFile's content
// must never be seen.
func TestRandomCancellationSharedKeys(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			base := countGoroutines()
			root := t.TempDir()
			c1, close1 := openWithClient(t, m, root)
			c2, close2 := openWithClient(t, m, root)
			cs := []*Coordinator{c1, c2}
			const G, iters = 8, 80
			var okUpd, okTx atomic.Int64
			var mu sync.Mutex
			failed := map[string]error{}
			seen := map[string]bool{}
			stop := make(chan struct{})
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					b := readOS(root, "shared/w")
					if b.exists {
						mu.Lock()
						seen[b.data] = true
						mu.Unlock()
					}
					time.Sleep(100 * time.Microsecond)
				}
			}()
			var wg sync.WaitGroup
			for g := 0; g < G; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					r := rand.New(rand.NewSource(time.Now().UnixNano() + int64(g)))
					for n := 0; n < iters; n++ {
						c := cs[r.Intn(2)]
						ctx, cancel := randomCtx(r, []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond}[r.Intn(3)])
						switch r.Intn(3) {
						case 0:
							err := c.Update(ctx, "shared/counter", func(old []byte, exists bool) ([]byte, error) {
								v := 0
								if exists {
									var err error
									if v, err = strconv.Atoi(string(old)); err != nil {
										return nil, err
									}
								}
								return []byte(strconv.Itoa(v + 1)), nil
							})
							if isCommitted(err) {
								okUpd.Add(1)
							} else if errors.Is(err, ErrCorruptRecord) || errors.Is(err, ErrStaleView) {
								t.Errorf("Update: %v", err)
							}
						case 1:
							tag := fmt.Sprintf("g%d-%d", g, n)
							err := c.WriteFile(ctx, "shared/w", []byte(tag), 0o644)
							if !isCommitted(err) {
								mu.Lock()
								failed[tag] = err
								mu.Unlock()
							}
						case 2:
							// A Tx that increments two counters together.
							var wrote string
							err := c.Lock(ctx, "shared/txlock", func(lctx context.Context, _ LeaseInfo) error {
								a, _ := c.ReadFile(lctx, "shared/ta")
								v, _ := strconv.Atoi(strings.TrimSpace(string(a)))
								wrote = strconv.Itoa(v + 1)
								return c.Tx(lctx, []TxFile{{Name: "shared/ta", Data: []byte(wrote)}, {Name: "shared/tb", Data: []byte(wrote)}})
							})
							if err == nil {
								okTx.Add(1)
							}
						}
						cancel()
					}
				}(g)
			}
			wg.Wait()
			close(stop)
			rwg.Wait()
			ctx := ctxT(t, 30*time.Second)
			c3, close3 := openWithClient(t, m, root)
			b, err := c3.ReadFile(ctx, "shared/counter")
			if err != nil {
				t.Fatalf("ReadFile counter: %v", err)
			}
			if got, _ := strconv.Atoi(string(b)); int64(got) != okUpd.Load() {
				t.Errorf("counter = %d; %d Updates returned committed", got, okUpd.Load())
			}
			ta, _ := c3.ReadFile(ctx, "shared/ta")
			tb, _ := c3.ReadFile(ctx, "shared/tb")
			if string(ta) != string(tb) {
				t.Errorf("tx counters differ: %q %q", ta, tb)
			}
			t.Logf("updates committed %d, tx locks ok %d, ta=%s", okUpd.Load(), okTx.Load(), ta)
			final := readOS(root, "shared/w")
			seen[final.data] = true
			for tag := range seen {
				if err, ok := failed[tag]; ok {
					t.Errorf("content %q seen, but its WriteFile failed: %v", tag, err)
				}
			}
			if lo := leftoverTemps(t, root); len(lo) > 0 {
				t.Errorf("left over: %v", lo)
			}
			close1()
			close2()
			close3()
			if n, dump := settleGoroutines(base, 5*time.Second); n > base {
				t.Errorf("goroutines: %d before, %d after Close:\n%s", base, n, ownStacks(dump))
			}
		})
	}
}
