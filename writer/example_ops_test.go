package writer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

func ExampleRoot_Move() {
	volume, _ := os.MkdirTemp("", "volume")
	defer os.RemoveAll(volume)
	spool, _ := os.MkdirTemp("", "spool") // the caller's own directory, outside the root
	defer os.RemoveAll(spool)

	root, err := writer.Open(volume)
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()

	src := filepath.Join(spool, "report.csv")
	if err := os.WriteFile(src, []byte("day,count\nmon,3\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A rename when src and the volume share a mount; otherwise a copy that
	// survives a crash (re-run the same Move to finish or undo it).
	err = root.Move(ctx, src, "reports/2024/report.csv", writer.Observe(func(e writer.Event) {
		if e.Step == "exdev-fallback" {
			log.Printf("copying %s across filesystems", e.Path)
		}
	}))
	switch {
	case errors.Is(err, writer.ErrDurabilityUnconfirmed):
		fmt.Println("moved, but may not survive a crash; the source is kept:", err)
	case err != nil:
		log.Fatal(err) // the destination did not change
	}
	b, _ := root.ReadFile(ctx, "reports/2024/report.csv")
	_, serr := os.Stat(src)
	fmt.Printf("%q, source gone: %v\n", b, errors.Is(serr, os.ErrNotExist))
	// Output: "day,count\nmon,3\n", source gone: true
}

func ExampleRoot_MkdirAll() {
	dir, _ := os.MkdirTemp("", "volume")
	defer os.RemoveAll(dir)

	root, err := writer.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()

	// Transient errors (ESTALE, EBUSY, ...) are retried until the deadline;
	// a failure removes the directories this call created.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := root.MkdirAll(ctx, "cache/v1/shards", 0o755); err != nil {
		log.Fatal(err)
	}
	// Creating it again, or from another replica at the same moment, is fine.
	if err := root.MkdirAll(ctx, "cache/v1/shards", 0o755); err != nil {
		log.Fatal(err)
	}
	// A file in the way is a permanent error (ENOTDIR), never retried.
	if err := os.WriteFile(filepath.Join(dir, "cache", "v2"), nil, 0o644); err != nil {
		log.Fatal(err)
	}
	err = root.MkdirAll(ctx, "cache/v2/shards", 0o755)
	fmt.Println(errors.Is(err, syscall.ENOTDIR))
	fi, _ := os.Stat(filepath.Join(dir, "cache", "v1", "shards"))
	fmt.Println(fi.IsDir())
	// Output:
	// true
	// true
}
