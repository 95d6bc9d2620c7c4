package deadline

import (
	"context"
	"testing"
	"time"
)

func TestPassed(t *testing.T) {
	if Passed(context.Background()) {
		t.Error("Passed(Background) = true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if !Passed(ctx) {
		t.Error("Passed(cancelled) = false")
	}
	// A deadline in the past, before the context's timer has fired.
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if !Passed(past) {
		t.Error("Passed(deadline passed) = false")
	}
	future, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if Passed(future) {
		t.Error("Passed(deadline in an hour) = true")
	}
}
