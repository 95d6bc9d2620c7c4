package locking

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLocalLocker(t *testing.T) {
	_, d := newLockDir(t)
	l := NewLocalLocker()
	ctx := context.Background()
	var last uint64
	for i := 0; i < 3; i++ {
		le, err := l.Acquire(ctx, "k", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if le.Token() != 0 {
			t.Fatalf("local token before CheckFloor = %d; want 0", le.Token())
		}
		fl := openLocked(t, d, "k")
		rec, err := fl.ReadRecord()
		if err != nil {
			t.Fatal(err)
		}
		if raised, err := le.CheckFloor(ctx, rec); err != nil || !raised {
			t.Fatalf("CheckFloor: %v, %v", raised, err)
		}
		if want := rec.Floor.Token + 1; le.Token() != want || le.Token() <= last {
			t.Fatalf("local token = %d; want floor+1 = %d", le.Token(), want)
		}
		last = le.Token()
		if err := le.CheckCommit(rec); err != nil {
			t.Fatal(err)
		}
		commitUnder(t, fl, le)
		select {
		case <-le.Done():
			t.Fatalf("local lease Done closed while held")
		default:
		}
		if le.Remaining() != time.Second {
			t.Fatalf("local Remaining = %v; want the TTL", le.Remaining())
		}
		if err := le.Release(ctx, nil, "k"); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(le.Err(), ErrNotHeld) {
			t.Fatalf("Err after Release = %v; want ErrNotHeld", le.Err())
		}
		fl.Close()
	}
	if last != 3 {
		t.Fatalf("third local token = %d; want 3", last)
	}
	ad, _ := l.Adopt(ctx, "k", "p/1/x", 7, time.Second)
	if ad.Token() != 7 || ad.ID() != "p/1/x" {
		t.Fatalf("adopted local lease %s/%d; want p/1/x/7", ad.ID(), ad.Token())
	}
}
