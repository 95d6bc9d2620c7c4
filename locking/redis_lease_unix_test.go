//go:build unix

package locking

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() {
	helpers["stopped-holder"] = helperStoppedHolder
}

// helperStoppedHolder acquires with TTL, says "held", and on each stdin line
// says whether it may act: "act" while the lease is valid, "refused <err>"
// otherwise; then "done" once Done has closed.
func helperStoppedHolder() error {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	l := NewRedisLocker(c, os.Getenv("VOLUME"))
	ttl, _ := time.ParseDuration(os.Getenv("TTL"))
	le, err := l.Acquire(context.Background(), "k", ttl)
	if err != nil {
		return err
	}
	fmt.Printf("held %d\n", le.Token())
	var line string
	fmt.Scanln(&line)
	if le.Remaining() > 0 && le.Err() == nil {
		fmt.Println("act")
	} else {
		fmt.Printf("refused remaining=%v\n", le.Remaining())
	}
	select {
	case <-le.Done():
		fmt.Printf("done %v\n", context.Cause(le.Context()))
	case <-time.After(10 * time.Second):
		fmt.Println("still held")
	}
	return nil
}

func TestStoppedHolderReportsLoss(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	const ttl = 500 * time.Millisecond
	p := startHelper(t, "stopped-holder", "REDIS_ADDR="+r.Addr(), "VOLUME="+vol, "TTL="+ttl.String())
	p.expect(t, "held ", 10*time.Second)
	if err := p.cmd.Process.Signal(sigStop); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * ttl)
	// Another holder takes over while the first is stopped.
	l := NewRedisLocker(testClient(t, r.Addr()), vol)
	other, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", 10*time.Second)
	if err != nil {
		t.Fatalf("take over from the stopped holder: %v", err)
	}
	defer other.Release(context.Background(), nil, "k")
	if err := p.cmd.Process.Signal(sigCont); err != nil {
		t.Fatal(err)
	}
	p.send(t, "may-i")
	p.expect(t, "refused", 5*time.Second)
	line := p.expect(t, "done", 5*time.Second)
	t.Logf("continued holder: %s", line)
	if !regexpLost.MatchString(line) {
		t.Fatalf("continued holder's cause %q; want lease lost", line)
	}
}
