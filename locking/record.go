package locking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// The lock record's byte layout; FORMAT.md is the reference. Two sections, each
// with its own CRC-32C, so that floor+pending and committed can each be written
// with one pwrite without rewriting the other:
//
//	[0,524)   section A: header, floor, pending, crc32c([0,520))
//	[524,904) section B: committed, crc32c([524,900))
//	[904,1024) reserved, zero
const (
	recordSize    = 1024
	recordVersion = 1
	recordMagic   = "SWLR"

	versionSize = 376
	leaseIDMax  = 127
	hostMax     = 95
	intentMax   = 63

	offFloorToken = 8
	offFloorLease = 16
	offPending    = 144
	offCRCA       = offPending + versionSize // 520
	sectionAEnd   = offCRCA + 4              // 524
	offCommitted  = sectionAEnd              // 524
	offCRCB       = offCommitted + versionSize
	sectionBEnd   = offCRCB + 4 // 904
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordBufs holds the buffers records are read into and encoded in: a
// commit reads its record three times and writes it twice, and a buffer on
// the stack would escape all the same (crc32 reaches its assembly through a
// function value).
var recordBufs = sync.Pool{New: func() any { return new([recordSize]byte) }}

// recordBuf returns a zeroed buffer from recordBufs; give it back with
// putRecordBuf once nothing refers to it (decoding copies what it keeps).
func recordBuf() *[recordSize]byte {
	b := recordBufs.Get().(*[recordSize]byte)
	clear(b[:])
	return b
}

func putRecordBuf(b *[recordSize]byte) { recordBufs.Put(b) }

var le = binary.LittleEndian

// encodeSectionA fills b, zero, with bytes [0,524): header, floor, pending and
// their CRC.
func encodeSectionA(b *[sectionAEnd]byte, f Floor, p Version) error {
	copy(b[0:4], recordMagic)
	le.PutUint16(b[4:6], recordVersion)
	le.PutUint16(b[6:8], recordSize)
	le.PutUint64(b[offFloorToken:], f.Token)
	if err := putString(b[offFloorLease:offFloorLease+1+leaseIDMax], f.LeaseID, "floor lease id"); err != nil {
		return err
	}
	if err := encodeVersion(b[offPending:offPending+versionSize], p); err != nil {
		return err
	}
	le.PutUint32(b[offCRCA:], crc32.Checksum(b[:offCRCA], castagnoli))
	return nil
}

// encodeSectionB fills b, zero, with bytes [524,904): committed and its CRC.
func encodeSectionB(b *[sectionBEnd - offCommitted]byte, c Version) error {
	if err := encodeVersion(b[:versionSize], c); err != nil {
		return err
	}
	le.PutUint32(b[versionSize:], crc32.Checksum(b[:versionSize], castagnoli))
	return nil
}

func encodeVersion(b []byte, v Version) error {
	le.PutUint64(b[0:], v.Token)
	if err := putString(b[8:136], v.LeaseID, "lease id"); err != nil {
		return err
	}
	copy(b[136:168], v.SHA256[:])
	le.PutUint64(b[168:], uint64(v.Size))
	le.PutUint64(b[176:], uint64(v.Length))
	le.PutUint64(b[184:], v.Generation)
	if v.Deleted {
		b[192] = 1
	}
	if err := putString(b[200:296], v.Host, "host"); err != nil {
		return err
	}
	le.PutUint64(b[296:], uint64(int64(v.PID)))
	if !v.Time.IsZero() {
		le.PutUint64(b[304:], uint64(v.Time.UnixNano()))
	}
	return putString(b[312:376], v.Intent, "intent id")
}

func putString(field []byte, s, what string) error {
	if len(s) > len(field)-1 {
		return fmt.Errorf("%s is %d bytes; the record holds at most %d", what, len(s), len(field)-1)
	}
	field[0] = byte(len(s))
	copy(field[1:], s)
	return nil
}

var errCorrupt = errors.New("corrupt")

func getString(field []byte) (string, error) {
	n := int(field[0])
	if n > len(field)-1 {
		return "", errCorrupt
	}
	return string(field[1 : 1+n]), nil
}

func decodeVersion(b []byte) (Version, error) {
	var v Version
	var err error
	v.Token = le.Uint64(b[0:])
	if v.LeaseID, err = getString(b[8:136]); err != nil {
		return v, err
	}
	copy(v.SHA256[:], b[136:168])
	v.Size = int64(le.Uint64(b[168:]))
	v.Length = int64(le.Uint64(b[176:]))
	v.Generation = le.Uint64(b[184:])
	if b[192] > 1 || !allZero(b[193:200]) {
		return v, errCorrupt // a flag other than 0/1, or a reserved byte set
	}
	v.Deleted = b[192] == 1
	if v.Host, err = getString(b[200:296]); err != nil {
		return v, err
	}
	v.PID = int(int64(le.Uint64(b[296:])))
	if ns := int64(le.Uint64(b[304:])); ns != 0 {
		v.Time = time.Unix(0, ns).UTC()
	}
	v.Intent, err = getString(b[312:376])
	return v, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeRecord parses a whole record. n is how many bytes the file held
// (0: a brand-new file, the zero Record). Anything short, torn, of another
// version or failing a checksum is a detail for ErrCorruptRecord.
func decodeRecord(b []byte, n int) (Record, error) {
	var r Record
	if n == 0 {
		return r, nil
	}
	if n < recordSize {
		return r, fmt.Errorf("record is %d bytes; want %d", n, recordSize)
	}
	var err error
	if r.Floor, r.Pending, err = decodeSectionA(b[:sectionAEnd]); err != nil {
		return r, err
	}
	if r.Committed, err = decodeSectionB(b[offCommitted:sectionBEnd]); err != nil {
		return r, err
	}
	if !allZero(b[sectionBEnd:recordSize]) {
		return r, fmt.Errorf("reserved bytes are not zero")
	}
	return r, nil
}

// foreignError is why a record with this format's magic is of another
// format: it matches ErrForeignRecord.
type foreignError string

func (e foreignError) Error() string        { return string(e) }
func (e foreignError) Is(target error) bool { return target == ErrForeignRecord }

// decodeSectionA parses bytes [0,524): header, floor and pending (all zero:
// empty).
func decodeSectionA(a []byte) (f Floor, p Version, err error) {
	if allZero(a) {
		return f, p, nil
	}
	if string(a[0:4]) != recordMagic {
		return f, p, fmt.Errorf("bad magic %q", a[0:4])
	}
	if v := le.Uint16(a[4:6]); v != recordVersion {
		return f, p, foreignError(fmt.Sprintf("record format version %d; this build reads %d", v, recordVersion))
	}
	if le.Uint16(a[6:8]) != recordSize {
		return f, p, foreignError(fmt.Sprintf("record size field %d; want %d", le.Uint16(a[6:8]), recordSize))
	}
	if got, want := crc32.Checksum(a[:offCRCA], castagnoli), le.Uint32(a[offCRCA:]); got != want {
		return f, p, fmt.Errorf("floor/pending checksum %08x; stored %08x", got, want)
	}
	f.Token = le.Uint64(a[offFloorToken:])
	if f.LeaseID, err = getString(a[offFloorLease : offFloorLease+1+leaseIDMax]); err != nil {
		return Floor{}, p, fmt.Errorf("floor lease id: %w", err)
	}
	if p, err = decodeVersion(a[offPending : offPending+versionSize]); err != nil {
		return Floor{}, Version{}, fmt.Errorf("pending: %w", err)
	}
	return f, p, nil
}

// decodeSectionB parses bytes [524,904): committed (all zero: empty).
func decodeSectionB(s []byte) (Version, error) {
	if allZero(s) {
		return Version{}, nil
	}
	if got, want := crc32.Checksum(s[:versionSize], castagnoli), le.Uint32(s[versionSize:]); got != want {
		return Version{}, fmt.Errorf("committed checksum %08x; stored %08x", got, want)
	}
	v, err := decodeVersion(s[:versionSize])
	if err != nil {
		return Version{}, fmt.Errorf("committed: %w", err)
	}
	return v, nil
}

// salvageRecord is what can still be read of a corrupt record: each section
// whose header and checksum are sound (a short file: those it holds whole);
// the others are left empty. a and c say whether floor and pending (section
// A) and committed (section B) were read. A record of another format version
// (ErrForeignRecord) is not salvaged: its layout is not this one.
func salvageRecord(b []byte, n int) (r Record, a, c bool, err error) {
	if n >= sectionAEnd {
		f, p, aerr := decodeSectionA(b[:sectionAEnd])
		if errors.Is(aerr, ErrForeignRecord) {
			return r, false, false, aerr
		}
		if aerr == nil {
			r.Floor, r.Pending, a = f, p, true
		}
	}
	if n >= sectionBEnd {
		if v, berr := decodeSectionB(b[offCommitted:sectionBEnd]); berr == nil {
			r.Committed, c = v, true
		}
	}
	return r, a, c, nil
}

// encodeRecord returns a whole record: both sections and the zero reserved
// bytes.
func encodeRecord(r Record) ([]byte, error) {
	b := new([recordSize]byte)
	if err := encodeSectionA(sectionA(b), r.Floor, r.Pending); err != nil {
		return nil, err
	}
	if err := encodeSectionB(sectionB(b), r.Committed); err != nil {
		return nil, err
	}
	return b[:], nil
}

// sectionA and sectionB are the parts of a whole record's buffer that hold
// each section.
func sectionA(b *[recordSize]byte) *[sectionAEnd]byte { return (*[sectionAEnd]byte)(b[:sectionAEnd]) }

func sectionB(b *[recordSize]byte) *[sectionBEnd - offCommitted]byte {
	return (*[sectionBEnd - offCommitted]byte)(b[offCommitted:sectionBEnd])
}
