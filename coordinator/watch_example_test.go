package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

// A replica reads the shared config once, then reloads it on every change.
func ExampleCoordinator_Watch() {
	c, done := openExample()
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.WriteFile(ctx, "config.json", []byte(`{"level":1}`), 0o644); err != nil {
		log.Fatal(err)
	}
	loaded := make(chan struct{})
	go func() {
		<-loaded // another replica changes it once the first version is loaded
		if err := c.WriteFile(context.Background(), "config.json", []byte(`{"level":2}`), 0o644); err != nil {
			log.Fatal(err)
		}
	}()
	err := c.Watch(ctx, "config.json", func(ctx context.Context, ch coordinator.Change) error {
		fmt.Printf("load %s (initial %v)\n", ch.Data, ch.Initial)
		if ch.Initial {
			close(loaded)
		} else {
			cancel()
		}
		return nil
	}, coordinator.WatchInitial())
	if !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
	// Output:
	// load {"level":1} (initial true)
	// load {"level":2} (initial false)
}
