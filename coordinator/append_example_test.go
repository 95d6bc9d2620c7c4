package coordinator_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

func ExampleCoordinator_Appender() {
	c, done := openExample()
	defer done()
	ctx := context.Background()

	a := c.Appender("app.log")
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Append returns once the batch holding the record is committed.
			if err := a.Append(ctx, fmt.Appendf(nil, "worker %d started\n", w)); err != nil {
				log.Print(err)
			}
		}()
	}
	wg.Wait()
	a.Close()

	data, _ := os.ReadFile(filepath.Join(c.Root(), "app.log"))
	fmt.Println(len(data))
	// Output: 51
}

func ExampleCoordinator_Rotate() {
	c, done := openExample()
	defer done()
	ctx := context.Background()

	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("before the rotation\n")); err != nil {
		log.Fatal(err)
	}
	r, err := c.Rotate(ctx, "app.log", coordinator.Keep(7), coordinator.Gzip())
	if err != nil {
		log.Fatal(err)
	}
	// The same appender follows the rotation: the record goes to the new file.
	if err := a.Append(ctx, []byte("after\n")); err != nil {
		log.Fatal(err)
	}
	live, _ := os.ReadFile(filepath.Join(c.Root(), "app.log"))
	fmt.Printf("generation %d, live file %q, rotated file compressed: %v\n", r.Generation, live, filepath.Ext(r.Name) == ".gz")
	// Output: generation 1, live file "after\n", rotated file compressed: true
}
