package locking_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// The write path's locking steps: lease, file lock, floor check, commit
// check, record updates, release.
func Example() {
	client, err := locking.NewClient(os.Getenv("SHAREDWRITE_REDIS")) // e.g. redis://localhost:6379
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	root, err := os.OpenRoot("/srv/shared")
	if err != nil {
		log.Fatal(err)
	}
	locks, err := locking.OpenLockDir(root)
	if err != nil {
		log.Fatal(err)
	}
	var locker locking.Locker = locking.NewRedisLocker(client, "volume-id")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const key = "config/app.json"
	lease, err := locker.Acquire(ctx, key, 30*time.Second)
	if errors.Is(err, locking.ErrNotObtained) {
		log.Fatalf("busy: %v", err) // names the holder
	} else if err != nil {
		log.Fatal(err)
	}
	fl, err := locks.Open(key)
	if err != nil {
		log.Fatal(err)
	}
	defer fl.Close()
	if err := fl.Lock(lease.Context()); err != nil {
		log.Fatal(err)
	}
	rec, err := fl.ReadRecord()
	if err != nil {
		log.Fatal(err) // ErrCorruptRecord: refuse, never guess
	}
	if _, err := lease.CheckFloor(ctx, rec); err != nil {
		log.Fatal(err)
	}
	// ... write the temp file, fsync ...
	if err := lease.CheckCommit(rec); err != nil {
		log.Fatal(err) // ErrFenced: a newer holder committed
	}
	v := locking.Version{Token: lease.Token(), LeaseID: lease.ID(), Time: time.Now()}
	if err := fl.WriteFloorPending(locking.Floor{Token: v.Token, LeaseID: v.LeaseID}, v); err != nil {
		log.Fatal(err)
	}
	// ... rename, fsync the directory ...
	if err := fl.WriteCommitted(v); err != nil {
		log.Fatal(err)
	}
	fl.Unlock()
	if err := lease.Release(ctx, &v, key); err != nil {
		log.Fatal(err)
	}
}

func ExampleRedactURL() {
	fmt.Println(locking.RedactURL("redis://app:s3cret@redis.internal:6379/0"))
	// Output: redis://app:xxxxx@redis.internal:6379/0
}

func ExampleEvent() {
	ev := locking.Event{Path: "config/app.json", Version: locking.Version{Token: 7, LeaseID: "web-1/4211/0123456789abcdef", Size: 2, Host: "web-1", PID: 4211, Time: time.Unix(0, 0).UTC()}}
	b, _ := ev.MarshalJSON()
	fmt.Println(string(b))
	// Output: {"path":"config/app.json","token":7,"lease_id":"web-1/4211/0123456789abcdef","size":2,"length":0,"generation":0,"deleted":false,"host":"web-1","pid":4211,"time":"1970-01-01T00:00:00Z","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}
}

func ExampleNewLocalLocker() {
	var locker locking.Locker = locking.NewLocalLocker()
	lease, _ := locker.Acquire(context.Background(), "notes.txt", time.Minute)
	raised, _ := lease.CheckFloor(context.Background(), locking.Record{Floor: locking.Floor{Token: 41, LeaseID: "other/1/00"}})
	fmt.Println(raised, lease.Token())
	// Output: true 42
}
