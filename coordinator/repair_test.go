package coordinator

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
)

// TestRepairRecord: a corrupt lock record blocks every operation on its key
// (ErrCorruptRecord, the file untouched) until RepairRecord rewrites it from
// the file as it is; the tokens after the repair are above every token the
// record's sound sections held, even when the Redis counter went back to 0.
func TestRepairRecord(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			dir := t.TempDir()
			c := open(t, m, dir)
			ctx := ctxT(t, 30*time.Second)
			for i := 1; i <= 3; i++ {
				if err := c.WriteFile(ctx, "cfg", []byte("v"+strconv.Itoa(i)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lockFile := filepath.Join(dir, locking.LockPath("cfg"))
			rec := recordOf(t, c, "cfg")
			if rec.Committed.Token == 0 {
				t.Fatalf("record after 3 writes: %+v", rec)
			}
			// Tear floor and pending; committed stays sound.
			b, err := os.ReadFile(lockFile)
			if err != nil {
				t.Fatal(err)
			}
			b[10] ^= 0xff
			if err := os.WriteFile(lockFile, b, 0o660); err != nil {
				t.Fatal(err)
			}
			if m == rds {
				// A Redis that lost its counter: without the salvaged
				// committed token the next token would repeat an old one.
				cl := redis.NewClient(&redis.Options{Addr: needRedis(t).Addr(), DisableIdentity: true})
				defer cl.Close()
				if err := cl.Set(ctx, locking.RedisKeys(c.VolumeID(), "cfg").Fence, 0, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}

			err = c.WriteFile(ctx, "cfg", []byte("refused"), 0o644)
			if !errors.Is(err, ErrCorruptRecord) || ExitCode(err) != ExitBadPath {
				t.Fatalf("WriteFile over a corrupt record = %v (exit %d); want ErrCorruptRecord, exit %d", err, ExitCode(err), ExitBadPath)
			}
			if got := readFile(t, filepath.Join(dir, "cfg")); got != "v3" {
				t.Fatalf("cfg after the refused write = %q; want v3", got)
			}

			rep, err := c.RepairRecord(ctx, "cfg")
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Repaired || rep.Problem == "" || rep.Salvaged.FloorPending || !rep.Salvaged.Committed {
				t.Fatalf("RepairRecord = %+v; want repaired, committed salvaged, floor/pending not", rep)
			}
			if rep.Committed.SHA256 != sha256.Sum256([]byte("v3")) || rep.Committed.Size != 2 || rep.Committed.Deleted {
				t.Fatalf("repaired committed = %+v; want the file as it is (v3)", rep.Committed)
			}
			if rep.Committed.Generation <= rec.Committed.Generation {
				t.Fatalf("repair generation %d; want above the salvaged committed generation %d", rep.Committed.Generation, rec.Committed.Generation)
			}
			if rep.Committed.Token <= rec.Committed.Token {
				t.Fatalf("repair token %d; want above the salvaged committed token %d", rep.Committed.Token, rec.Committed.Token)
			}
			if got := recordOf(t, c, "cfg"); got.Floor.Token != rep.Committed.Token || got.Committed != rep.Committed || got.Pending != (locking.Version{}) {
				t.Fatalf("record after the repair = %+v; want floor and committed at token %d", got, rep.Committed.Token)
			}

			if err := c.Update(ctx, "cfg", func(old []byte, _ bool) ([]byte, error) { return append(old, '+'), nil }); err != nil {
				t.Fatalf("Update after the repair: %v", err)
			}
			if got := readFile(t, filepath.Join(dir, "cfg")); got != "v3+" {
				t.Fatalf("cfg after the repair and an update = %q; want v3+", got)
			}
			if got := recordOf(t, c, "cfg"); got.Committed.Token <= rep.Committed.Token {
				t.Fatalf("token after the repair %d; want above the repair's %d", got.Committed.Token, rep.Committed.Token)
			}

			again, err := c.RepairRecord(ctx, "cfg")
			if err != nil || again.Repaired {
				t.Fatalf("RepairRecord of a sound record = %+v, %v; want nothing repaired", again, err)
			}
		})
	}
}

// TestRepairRecordAbsentFile: a corrupt record of a file that is gone is
// rewritten as a deletion; a missing lock file needs no repair.
func TestRepairRecordAbsentFile(t *testing.T) {
	dir := t.TempDir()
	c := open(t, local, dir)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "gone", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(dir, locking.LockPath("gone"))
	if err := os.Truncate(lockFile, 100); err != nil {
		t.Fatal(err)
	}
	rep, err := c.RepairRecord(ctx, "gone")
	if err != nil || !rep.Repaired || !rep.Committed.Deleted || rep.Committed.Size != 0 {
		t.Fatalf("RepairRecord of a removed file = %+v, %v; want repaired as deleted", rep, err)
	}
	if err := c.WriteFile(ctx, "gone", []byte("back"), 0o644); err != nil {
		t.Fatalf("WriteFile after the repair: %v", err)
	}
	rep, err = c.RepairRecord(ctx, "never-written")
	if err != nil || rep.Repaired {
		t.Fatalf("RepairRecord of a key with no record = %+v, %v; want nothing repaired", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, locking.LockPath("never-written"))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lock file of a name never written after RepairRecord: %v; want none made", err)
	}
	if _, err := c.RepairRecord(context.Background(), "../outside"); !errors.Is(err, ErrOutsideRoot) {
		t.Fatalf("RepairRecord(../outside) = %v; want ErrOutsideRoot", err)
	}

	// A directory where the file was: refused, the record left as it is.
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	fl, err := c.locks.Open("d")
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte("not a lock record")
	_, err = fl.File().WriteAt(garbage, 0)
	fl.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RepairRecord(ctx, "d"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("RepairRecord of a directory = %v; want ErrNotRegular", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, locking.LockPath("d"))); err != nil || string(b) != string(garbage) {
		t.Fatalf("lock file after a refused repair = %q, %v; want it unchanged", b, err)
	}
}

// recordOf reads key's lock record.
func recordOf(t *testing.T, c *Coordinator, key string) locking.Record {
	t.Helper()
	rec, err := c.peekRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRepairRecordForeign: a record with another format version is refused,
// not rewritten: the build that wrote it can still read it.
func TestRepairRecordForeign(t *testing.T) {
	dir := t.TempDir()
	c := open(t, local, dir)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(dir, locking.LockPath("cfg"))
	b, err := os.ReadFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	b[4] = 2 // format version 2
	if err := os.WriteFile(lockFile, b, 0o660); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, "cfg", []byte("v2"), 0o644); !errors.Is(err, ErrCorruptRecord) || !errors.Is(err, locking.ErrForeignRecord) {
		t.Fatalf("WriteFile over a record of another version = %v; want ErrCorruptRecord and ErrForeignRecord", err)
	}
	rep, err := c.RepairRecord(ctx, "cfg")
	if !errors.Is(err, locking.ErrForeignRecord) || rep.Repaired {
		t.Fatalf("RepairRecord of a record of another version = %+v, %v; want refused with ErrForeignRecord", rep, err)
	}
	if after, err := os.ReadFile(lockFile); err != nil || string(after) != string(b) {
		t.Fatalf("lock file after the refused repair changed (%v)", err)
	}
}

// TestRepairRecordCompletesTransaction: a transaction that died after its
// commit point (one target renamed, the others not) is completed by the
// repair of one of its keys, whether that key's pending record survived or
// was lost with the corrupt record; the record then holds the completed
// version.
func TestRepairRecordCompletesTransaction(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear int // byte of the lock file damaged
	}{
		{"committed lost", 524 + 3},
		{"pending lost", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, c, ctx := crashedTx(t)
			if got := readFile(t, filepath.Join(root, "tx/c")); got != "c-old" || txIntents(t, root) != 1 {
				t.Fatalf("after the crash tx/c = %q with %d intents; want c-old and 1", got, txIntents(t, root))
			}
			lockFile := filepath.Join(root, locking.LockPath("tx/c"))
			b, err := os.ReadFile(lockFile)
			if err != nil {
				t.Fatal(err)
			}
			b[tc.tear] ^= 0xff
			if err := os.WriteFile(lockFile, b, 0o660); err != nil {
				t.Fatal(err)
			}
			rep, err := c.RepairRecord(ctx, "tx/c")
			if err != nil || !rep.Repaired {
				t.Fatalf("RepairRecord = %+v, %v; want repaired", rep, err)
			}
			if got := readFile(t, filepath.Join(root, "tx/c")); got != "c-new" {
				t.Fatalf("tx/c after the repair = %q; want the transaction completed (c-new)", got)
			}
			if n := txIntents(t, root); n != 0 {
				t.Fatalf("%d intents after the repair; want 0", n)
			}
			if rep.Committed.SHA256 != sha256.Sum256([]byte("c-new")) {
				t.Fatalf("repaired committed = %+v; want the completed version c-new", rep.Committed)
			}
			checkTx(t, root, "new")
		})
	}
}
