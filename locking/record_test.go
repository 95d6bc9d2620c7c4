package locking

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sampleVersion(tok uint64) Version {
	return Version{
		Token: tok, LeaseID: "web-1/4211/0123456789abcdef", SHA256: [32]byte{0xde, 0xad, 31: 0xff},
		Size: 1234, Length: 1200, Generation: 3, Deleted: tok%2 == 0, Host: "web-1", PID: 4211,
		Time: time.Unix(1732241000, 123456789).UTC(), Intent: "tx-42",
	}
}

func TestRecordRoundTrip(t *testing.T) {
	_, d := newLockDir(t)
	fl := openLocked(t, d, "r")
	if rec, err := fl.ReadRecord(); err != nil || rec != (Record{}) {
		t.Fatalf("record of a new lock file = %+v, %v; want zero", rec, err)
	}
	// committed first on an empty file, then floor+pending, then committed.
	if err := fl.WriteCommitted(sampleVersion(1)); err != nil {
		t.Fatal(err)
	}
	if rec, err := fl.ReadRecord(); err != nil || rec.Committed != sampleVersion(1) || rec.Floor != (Floor{}) {
		t.Fatalf("after WriteCommitted = %+v, %v", rec, err)
	}
	f := Floor{Token: 2, LeaseID: "web-1/4211/0123456789abcdef"}
	if err := fl.WriteFloorPending(f, sampleVersion(2)); err != nil {
		t.Fatal(err)
	}
	if err := fl.WriteCommitted(sampleVersion(2)); err != nil {
		t.Fatal(err)
	}
	want := Record{Floor: f, Pending: sampleVersion(2), Committed: sampleVersion(2)}
	rec, err := fl.ReadRecord()
	if err != nil || rec != want {
		t.Fatalf("record = %+v, %v; want %+v", rec, err, want)
	}
	fi, _ := fl.File().Stat()
	if fi.Size() != recordSize {
		t.Fatalf("lock file size %d; want %d", fi.Size(), recordSize)
	}
	long := Version{LeaseID: string(make([]byte, 200))}
	if err := fl.WriteCommitted(long); err == nil {
		t.Fatalf("WriteCommitted with a 200-byte lease id succeeded; want refused")
	}
	unlocked, err := d.Open("r")
	if err != nil {
		t.Fatal(err)
	}
	defer unlocked.Close()
	if err := unlocked.WriteCommitted(sampleVersion(3)); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("WriteCommitted without the lock: %v; want ErrNotHeld", err)
	}
}

func TestRecordCorrupt(t *testing.T) {
	garbage := make([]byte, recordSize)
	rand.Read(garbage)
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		// which sections SalvageRecord still reads
		floorPending, committed bool
		// another format: refused as ErrForeignRecord too, never salvaged
		foreign bool
	}{
		{"truncated", func(b []byte) []byte { return b[:600] }, true, false, false},
		{"one byte", func(b []byte) []byte { return b[:1] }, false, false, false},
		{"garbage", func([]byte) []byte { return garbage }, false, false, false},
		{"torn floor", func(b []byte) []byte { b[offFloorToken] ^= 0x40; return b }, false, true, false},
		{"torn pending", func(b []byte) []byte { b[offPending+170] ^= 1; return b }, false, true, false},
		{"torn committed", func(b []byte) []byte { b[offCommitted+3] ^= 1; return b }, true, false, false},
		{"half-written committed", func(b []byte) []byte {
			copy(b[offCommitted+100:sectionBEnd], make([]byte, sectionBEnd-offCommitted-100))
			return b
		}, true, false, false},
		{"future version", func(b []byte) []byte { b[4] = 9; return b }, false, false, true},
		{"other record size", func(b []byte) []byte { b[7] = 8; return b }, false, false, true},
		{"reserved bytes", func(b []byte) []byte { b[recordSize-1] = 1; return b }, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, d := newLockDir(t)
			fl := openLocked(t, d, "c")
			if err := fl.WriteFloorPending(Floor{Token: 5, LeaseID: "a"}, sampleVersion(5)); err != nil {
				t.Fatal(err)
			}
			if err := fl.WriteCommitted(sampleVersion(5)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root.Name(), LockPath("c"))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.damage(b), 0o660); err != nil {
				t.Fatal(err)
			}
			rec, err := fl.ReadRecord()
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("ReadRecord of a %s record = %+v, %v; want ErrCorruptRecord", tc.name, rec, err)
			}
			t.Logf("%v", err)
			if errors.Is(err, ErrForeignRecord) != tc.foreign {
				t.Fatalf("ReadRecord of a %s record: errors.Is(%v, ErrForeignRecord) = %v; want %v", tc.name, err, !tc.foreign, tc.foreign)
			}

			s, err := fl.SalvageRecord()
			if tc.foreign {
				if !errors.Is(err, ErrForeignRecord) {
					t.Fatalf("SalvageRecord of a %s record = %+v, %v; want ErrForeignRecord", tc.name, s, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.FloorPending != tc.floorPending || s.Committed != tc.committed {
				t.Fatalf("SalvageRecord read floor/pending %v, committed %v; want %v, %v", s.FloorPending, s.Committed, tc.floorPending, tc.committed)
			}
			want := Record{}
			if tc.floorPending {
				want.Floor, want.Pending = Floor{Token: 5, LeaseID: "a"}, sampleVersion(5)
			}
			if tc.committed {
				want.Committed = sampleVersion(5)
			}
			if s.Record != want {
				t.Fatalf("SalvageRecord = %+v; want %+v", s.Record, want)
			}

			repaired := Record{Floor: Floor{Token: 9, LeaseID: "r"}, Committed: sampleVersion(9)}
			if err := fl.RewriteRecord(repaired); err != nil {
				t.Fatal(err)
			}
			if rec, err := fl.ReadRecord(); err != nil || rec != repaired {
				t.Fatalf("ReadRecord after RewriteRecord = %+v, %v; want %+v", rec, err, repaired)
			}
			if fi, err := os.Stat(p); err != nil || fi.Size() != recordSize {
				t.Fatalf("lock file after RewriteRecord: %v, %v; want %d bytes", fi, err, recordSize)
			}
		})
	}
}

func TestRewriteRecordNeedsLock(t *testing.T) {
	_, d := newLockDir(t)
	fl := openLocked(t, d, "n")
	if err := fl.Unlock(); err != nil {
		t.Fatal(err)
	}
	err := fl.RewriteRecord(Record{Floor: Floor{Token: 1, LeaseID: "x"}})
	if !errors.Is(err, ErrNotHeld) {
		t.Fatalf("RewriteRecord without the lock = %v; want ErrNotHeld", err)
	}
	if rec, err := fl.ReadRecord(); err != nil || rec != (Record{}) {
		t.Fatalf("record after a refused RewriteRecord = %+v, %v; want the empty record", rec, err)
	}
}

func TestCheckCommit(t *testing.T) {
	const id = "h/1/a"
	for _, tc := range []struct {
		name   string
		floor  Floor
		token  uint64
		fenced bool
	}{
		{"empty record", Floor{}, 1, false},
		{"floor below", Floor{Token: 4, LeaseID: "h/2/b"}, 5, false},
		{"floor ours", Floor{Token: 5, LeaseID: id}, 5, false},
		{"floor equal other lease", Floor{Token: 5, LeaseID: "h/2/b"}, 5, true},
		{"floor above", Floor{Token: 6, LeaseID: "h/2/b"}, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCommit("k", id, tc.token, Record{Floor: tc.floor})
			if got := errors.Is(err, ErrFenced); got != tc.fenced {
				t.Fatalf("checkCommit(floor %+v, token %d) = %v; fenced %v, want %v", tc.floor, tc.token, err, got, tc.fenced)
			}
		})
	}
}
