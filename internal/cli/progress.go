package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progressDelay is how long an operation runs before progress is shown.
const progressDelay = time.Second

// startProgress shows "label... 3s" on stderr, refreshed every second, while long
// work runs (a wait for a busy lease, a cross-device move of a large file), but
// only when stderr is a terminal: scripts and logs get nothing extra. The
// returned function stops it and clears the line.
func startProgress(w io.Writer, label string) (stop func()) {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTimer(progressDelay)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(f, "\r\033[K")
				}
				return
			case <-t.C:
				shown = true
				fmt.Fprintf(f, "\r\033[K%s... %s", label, time.Since(start).Round(time.Second))
				t.Reset(time.Second)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
