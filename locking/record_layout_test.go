package locking

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
)

// TestRecordBytesAsFORMAT checks the bytes of a written record at the offsets
// FORMAT.md gives ("The lock record"), with its own reading of the document
// rather than this package's decoder: a change of layout must change the
// document (and the format version) too.
func TestRecordBytesAsFORMAT(t *testing.T) {
	_, d := newLockDir(t)
	fl := openLocked(t, d, "layout")
	floor := Floor{Token: 9, LeaseID: "web-1/4211/0123456789abcdef"}
	pending, committed := sampleVersion(9), sampleVersion(8)
	if err := fl.WriteFloorPending(floor, pending); err != nil {
		t.Fatal(err)
	}
	if err := fl.WriteCommitted(committed); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2048)
	n, err := fl.File().ReadAt(b, 0)
	if err != io.EOF || n != 1024 {
		t.Fatalf("read %d bytes, %v; want the 1024 of one record", n, err)
	}
	b = b[:n]
	le := binary.LittleEndian
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	str := func(field []byte) string {
		l := int(field[0])
		if l > len(field)-1 || bytes.ContainsFunc(field[1+l:], func(r rune) bool { return r != 0 }) {
			t.Errorf("string field % x: length %d past the field, or padding not zero", field[:8], l)
			return ""
		}
		return string(field[1 : 1+l])
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v; want %v (FORMAT.md)", what, got, want)
		}
	}
	version := func(name string, v []byte, want Version) {
		check(name+" token @0", le.Uint64(v[0:]), want.Token)
		check(name+" lease id @8", str(v[8:136]), want.LeaseID)
		check(name+" sha256 @136", [32]byte(v[136:168]), want.SHA256)
		check(name+" size @168", int64(le.Uint64(v[168:])), want.Size)
		check(name+" length @176", int64(le.Uint64(v[176:])), want.Length)
		check(name+" generation @184", le.Uint64(v[184:]), want.Generation)
		check(name+" flags @192", v[192], map[bool]byte{true: 1, false: 0}[want.Deleted])
		check(name+" reserved @193", bytes.Count(v[193:200], []byte{0}), 7)
		check(name+" host @200", str(v[200:296]), want.Host)
		check(name+" pid @296", int64(le.Uint64(v[296:])), int64(want.PID))
		check(name+" time @304", int64(le.Uint64(v[304:])), want.Time.UnixNano())
		check(name+" intent @312", str(v[312:376]), want.Intent)
	}
	check("magic @0", string(b[0:4]), "SWLR")
	check("format version @4", le.Uint16(b[4:]), uint16(1))
	check("record size @6", le.Uint16(b[6:]), uint16(1024))
	check("floor token @8", le.Uint64(b[8:]), floor.Token)
	check("floor lease id @16", str(b[16:144]), floor.LeaseID)
	version("pending @144", b[144:520], pending)
	check("CRC-32C of [0,520) @520", le.Uint32(b[520:]), crc32.Checksum(b[0:520], castagnoli))
	version("committed @524", b[524:900], committed)
	check("CRC-32C of [524,900) @900", le.Uint32(b[900:]), crc32.Checksum(b[524:900], castagnoli))
	check("reserved [904,1024)", bytes.Count(b[904:], []byte{0}), 120)
}
