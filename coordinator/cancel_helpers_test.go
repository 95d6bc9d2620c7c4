package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openWithClient is open, returning also the coordinator's Close for the
// caller to call explicitly (open's Cleanup closes again, a no-op; the Redis
// client is closed only then: a streaming File may still need it after the
// coordinator's Close).
func openWithClient(t testing.TB, m mode, root string, opts ...Option) (*Coordinator, func() error) {
	t.Helper()
	c := open(t, m, root, opts...)
	return c, c.Close
}

// randomCtx returns a context cancelled at a random moment in 0..maxD, by
// cancel or by deadline.
func randomCtx(r *rand.Rand, maxD time.Duration) (context.Context, context.CancelFunc) {
	d := time.Duration(r.Int63n(int64(maxD) + 1))
	if r.Intn(2) == 0 {
		return context.WithTimeout(context.Background(), d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := time.AfterFunc(d, cancel)
	return ctx, func() { t.Stop(); cancel() }
}

func isCommitted(err error) bool {
	return err == nil || errors.Is(err, ErrDurabilityUnconfirmed)
}

// leftoverTemps lists temps (writer naming), transaction intents and in-place
// markers left under root.
func leftoverTemps(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		base := d.Name()
		if strings.Contains(base, ".sw.") && strings.HasSuffix(base, ".tmp") {
			out = append(out, rel)
		}
		if strings.HasPrefix(rel, filepath.Join(".sharedwrite", "tx")+string(os.PathSeparator)) {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// settleGoroutines waits up to d for the goroutine count to fall to want or
// below; it returns the last count and a dump of all stacks.
func settleGoroutines(want int, d time.Duration) (int, string) {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return n, string(buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ownStacks keeps the goroutine stacks that mention this module (drops the
// test framework's own).
func ownStacks(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "sharedwrite") && !strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "settleGoroutines") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}
