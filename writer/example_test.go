package writer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/sharedwrite/sharedwrite/writer"
)

func ExampleRoot_WriteFile() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	root, err := writer.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()

	ctx := context.Background()
	err = root.WriteFile(ctx, "conf/app.json", []byte(`{"replicas": 3}`), 0o644)
	switch {
	case errors.Is(err, writer.ErrDurabilityUnconfirmed):
		fmt.Println("visible, but may not survive a crash:", err)
	case err != nil:
		log.Fatal(err) // nothing changed
	}
	b, _ := root.ReadFile(ctx, "conf/app.json")
	fmt.Println(string(b))
	// Output: {"replicas": 3}
}

func ExampleCreateOnly() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	root, _ := writer.Open(dir)
	defer root.Close()
	ctx := context.Background()

	// The first replica creates the file; a later one finds it there.
	for _, replica := range []string{"a", "b"} {
		err := root.WriteFile(ctx, "cluster-id", []byte("made by "+replica), 0o644, writer.CreateOnly())
		if errors.Is(err, writer.ErrExist) {
			b, _ := root.ReadFile(ctx, "cluster-id")
			fmt.Printf("%s lost the race; content: %s\n", replica, b)
		}
	}
	// Output: b lost the race; content: made by a
}

func ExamplePreCommit() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	root, _ := writer.Open(dir)
	defer root.Close()

	errFenced := errors.New("fenced")
	fence := writer.PreCommit(func(ctx context.Context, c writer.Change) error {
		return errFenced // e.g. a newer lease holder committed meanwhile
	})
	err := root.WriteFile(context.Background(), "state", []byte("x"), 0o644, fence)
	fmt.Println(errors.Is(err, errFenced))
	_, err = os.Stat(dir + "/state")
	fmt.Println(errors.Is(err, os.ErrNotExist))
	// Output:
	// true
	// true
}

func ExampleRoot_Create() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	root, _ := writer.Open(dir)
	defer root.Close()
	ctx := context.Background()

	f, err := root.Create(ctx, "logs/big.txt", 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Abort() // no-op once committed
	if _, err := io.Copy(f, strings.NewReader(strings.Repeat("line\n", 1000))); err != nil {
		log.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	_, size := f.Sum()
	fmt.Println(f.Name(), size)
	// Output: logs/big.txt 5000
}
