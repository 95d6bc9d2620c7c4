package bootclock

import (
	"testing"
	"time"
)

func TestNowAdvances(t *testing.T) {
	a := Now()
	time.Sleep(20 * time.Millisecond)
	b := Since(a)
	if b < 20*time.Millisecond || b > 5*time.Second {
		t.Fatalf("Since after a 20ms sleep = %v; want between 20ms and 5s", b)
	}
}
