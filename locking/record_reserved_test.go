package locking

import (
	"errors"
	"hash/crc32"
	"testing"
)

// A version's reserved bytes [193,200) must be zero (FORMAT.md): a record
// with one set, even under a valid checksum (another build's), is
// ErrCorruptRecord.
func TestRecordReservedVersionBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int // byte to set, with the section's CRC recomputed
	}{
		{"pending reserved", offPending + 193},
		{"committed reserved", offCommitted + 199},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newLockDir(t)
			fl := openLocked(t, d, "k")
			b, err := encodeRecord(Record{Floor: Floor{Token: 3, LeaseID: "a"}, Pending: Version{Token: 3, LeaseID: "a"}, Committed: Version{Token: 2, LeaseID: "b"}})
			if err != nil {
				t.Fatal(err)
			}
			b[tc.off] = 0x5a
			le.PutUint32(b[offCRCA:], crc32.Checksum(b[:offCRCA], castagnoli))
			le.PutUint32(b[offCRCB:], crc32.Checksum(b[offCommitted:offCRCB], castagnoli))
			if _, err := fl.File().WriteAt(b, 0); err != nil {
				t.Fatal(err)
			}
			rec, err := fl.ReadRecord()
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("ReadRecord with reserved byte %d = 0x5a: %+v, %v; want ErrCorruptRecord", tc.off, rec, err)
			}
		})
	}
}
