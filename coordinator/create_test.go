package coordinator

import (
	"context"
	"errors"
	"testing"
	"time"
)

// dripReader yields one byte every tick until end, then io.EOF.
type dripReader struct {
	tick time.Duration
	end  time.Time
}

func (r *dripReader) Read(p []byte) (int, error) {
	if time.Now().After(r.end) {
		return 0, errors.New("drip: ended without anyone stopping the copy")
	}
	time.Sleep(r.tick)
	p[0] = 'x'
	return 1, nil
}

// A streaming write's ReadFrom stops once the operation's context ends (the
// lease lost, the caller cancelled): it does not keep filling the temp
// without the lease.
func TestCreateReadFromStopsWhenContextEnds(t *testing.T) {
	c := open(t, local, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := c.Create(ctx, "stream", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	done := make(chan error, 1)
	go func() {
		_, err := f.ReadFrom(&dripReader{tick: 5 * time.Millisecond, end: time.Now().Add(15 * time.Second)})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ReadFrom after cancel = %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrom still copying 5s after its context ended")
	}
}
