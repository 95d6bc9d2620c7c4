package writer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// inPlaceIntent is the content of an in-place rewrite's intent marker (see
// inplace.go for the rewrite and its files).
type inPlaceIntent struct {
	Target  string // base name of the target
	Dev     uint64 // device and inode of the target (0, 0: unknown)
	Ino     uint64
	OldSize int64
	OldSum  [32]byte
	NewSize int64
	NewSum  [32]byte
}

// inPlaceMatch says how a file relates to the file an intent was written for.
type inPlaceMatch int

const (
	matchOther     inPlaceMatch = iota // another inode: not the intent's file
	matchSame                          // same device and inode (or none recorded)
	matchRemounted                     // same inode on another device: the file after a remount, or another one whose inode number matches by chance
)

// match reports how fi relates to the file the intent was written for (an
// intent that recorded no device and inode matches any file).
func (in inPlaceIntent) match(fi fs.FileInfo) inPlaceMatch {
	dev, ino := fileID(fi)
	switch {
	case in.Dev == 0 && in.Ino == 0, dev == in.Dev && ino == in.Ino:
		return matchSame
	case ino == in.Ino:
		return matchRemounted
	}
	return matchOther
}

// mtimeSlack allows for filesystems that keep times in whole seconds (two on
// FAT) when mtimes from two filesystems are compared.
const mtimeSlack = 2 * time.Second

// mayBeTorn reports whether a file holding neither version, of size bytes and
// modified at mtime, can be what the rewrite (or a restore of it) left when
// interrupted: the rewrite writes over the old content from offset 0 and
// truncates last, and the restore does the same with the old content, so the
// size lies between the two versions' sizes; and both write the target only
// after the marker exists, so the file was not modified before the marker
// (modified at markerMtime).
func (in inPlaceIntent) mayBeTorn(size int64, mtime, markerMtime time.Time) bool {
	return size >= min(in.OldSize, in.NewSize) && size <= max(in.OldSize, in.NewSize) &&
		!mtime.Before(markerMtime.Add(-mtimeSlack))
}

// isOld and isNew report whether content of size and sum is the rewrite's
// old or new version.
func (in inPlaceIntent) isOld(size int64, sum [32]byte) bool {
	return size == in.OldSize && sum == in.OldSum
}

func (in inPlaceIntent) isNew(size int64, sum [32]byte) bool {
	return size == in.NewSize && sum == in.NewSum
}

func (in inPlaceIntent) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\ntarget %s\nfile %d %d\nold %d %x\nnew %d %x\n", inPlaceMagic, strconv.Quote(in.Target), in.Dev, in.Ino, in.OldSize, in.OldSum, in.NewSize, in.NewSum)
	sum := sha256.Sum256(b.Bytes())
	fmt.Fprintf(&b, "sum %x\n", sum)
	return b.Bytes()
}

// namedBy reports whether the intent's target is a plain name in the
// marker's own directory whose marker is named markerBase, as rewriteInPlace
// writes it. Its checksum proves only that the marker is whole, not who wrote
// it, so the target is never taken from anywhere else.
func (in inPlaceIntent) namedBy(markerBase string) bool {
	t := in.Target
	if t == "" || t == "." || t == ".." || strings.ContainsAny(t, "/\\\x00") {
		return false
	}
	return inPlaceStem(t)+inPlaceMarkerSuffix == markerBase
}

// errTornMarker: the marker is incomplete or damaged.
var errTornMarker = errors.New("in-place marker incomplete or damaged")

func decodeInPlaceIntent(data []byte) (inPlaceIntent, error) {
	var in inPlaceIntent
	i := bytes.LastIndex(data, []byte("sum "))
	if i < 0 {
		return in, errTornMarker
	}
	want := sha256.Sum256(data[:i])
	if string(data[i:]) != fmt.Sprintf("sum %x\n", want) {
		return in, errTornMarker
	}
	lines := strings.Split(string(data[:i]), "\n")
	if len(lines) != 6 || lines[0] != inPlaceMagic || !strings.HasPrefix(lines[1], "target ") {
		return in, errTornMarker
	}
	t, err := strconv.Unquote(strings.TrimPrefix(lines[1], "target "))
	if err != nil {
		return in, errTornMarker
	}
	in.Target = t
	var old, nw string
	if _, err := fmt.Sscanf(lines[2], "file %d %d", &in.Dev, &in.Ino); err != nil {
		return in, errTornMarker
	}
	if _, err := fmt.Sscanf(lines[3], "old %d %s", &in.OldSize, &old); err != nil {
		return in, errTornMarker
	}
	if _, err := fmt.Sscanf(lines[4], "new %d %s", &in.NewSize, &nw); err != nil {
		return in, errTornMarker
	}
	for _, p := range []struct {
		s   string
		dst *[32]byte
	}{{old, &in.OldSum}, {nw, &in.NewSum}} {
		b, err := hex.DecodeString(p.s)
		if err != nil || len(b) != 32 {
			return in, errTornMarker
		}
		copy(p.dst[:], b)
	}
	return in, nil
}
