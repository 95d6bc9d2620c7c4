package coordinator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A framed batch (Framed) is a 12-byte header — the magic "SWB1", the
// payload's length and its CRC-32C (Castagnoli), both little-endian uint32 —
// followed by the payload: the batch's records as appended.
const (
	frameMagic  = "SWB1"
	frameHeader = 12
	// maxFramePayload is the largest payload a frame's 32-bit length holds:
	// a framed batch never grows past it, and a larger record is refused.
	maxFramePayload = 1<<32 - 1
)

// ErrBadFrame: ReadFrames met bytes that are not a whole, intact frame.
var ErrBadFrame = errors.New("coordinator: bad append frame")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// putFrameHeader fills in the frame header that b's first frameHeader bytes
// reserve, for the payload that follows them.
func putFrameHeader(b []byte) {
	payload := b[frameHeader:]
	copy(b, frameMagic)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(payload, crcTable))
}

// ReadFrames splits the content of a file appended with Framed into the
// batches' payloads, checking each length and CRC. It returns the payloads
// read before the first bad frame, with an error wrapping ErrBadFrame that
// gives its offset.
func ReadFrames(data []byte) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(data); {
		rest := data[off:]
		if len(rest) < frameHeader || string(rest[:4]) != frameMagic {
			return out, fmt.Errorf("%w: no frame header at offset %d", ErrBadFrame, off)
		}
		n := int(binary.LittleEndian.Uint32(rest[4:]))
		if n > len(rest)-frameHeader {
			return out, fmt.Errorf("%w: frame at offset %d holds %d bytes; %d follow", ErrBadFrame, off, n, len(rest)-frameHeader)
		}
		p := rest[frameHeader : frameHeader+n]
		if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(rest[8:]) {
			return out, fmt.Errorf("%w: checksum mismatch in the frame at offset %d", ErrBadFrame, off)
		}
		out = append(out, p)
		off += frameHeader + n
	}
	return out, nil
}
