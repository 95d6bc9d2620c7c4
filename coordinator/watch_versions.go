package coordinator

import (
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// newerVersion reports whether a is a later version than b.
//
// Tokens order the versions of different leases. One lease can commit several
// versions under its token (operations nested in Lock borrow the held lease;
// an Appender with RotateAtSize rotates, then appends), and those are ordered
// by generation, then length: each whole-file write, removal and rotation
// takes a generation past the committed one, and appends only lengthen the
// file within a generation. Two different versions of one token that this
// cannot order (a lease whose committed record write failed) count as newer:
// the record only moves forward under one lease.
func newerVersion(a, b locking.Version) bool {
	if a.Token != b.Token {
		return a.Token > b.Token
	}
	if a.Token == 0 || sameLog(a, b) {
		return false
	}
	if a.Generation != b.Generation {
		return a.Generation > b.Generation
	}
	return a.Length >= b.Length
}

// newest returns the newer of a record's committed and pending versions.
func newest(rec locking.Record) locking.Version {
	if newerVersion(rec.Pending, rec.Committed) {
		return rec.Pending
	}
	return rec.Committed
}

// renameShown reports whether the file as read proves that pending version p
// was made visible, not merely written down before a rename that may still
// fail and be withdrawn. Only a whole-file version (or a removal) can show
// that, by content that the committed version cannot have: an append's or a
// rotation's pending version matches any file long enough, and a rewrite with
// the content the file already has matches the file as it was.
func renameShown(p, committed locking.Version, ct writer.Content) bool {
	return !isLogVersion(p) && matches(p, ct) && !matches(committed, ct)
}
