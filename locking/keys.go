package locking

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// KeyHash returns the hex sha256 of the key (the canonical path relative to
// the root). It names the lock file (.sharedwrite/locks/<hash>.lock) and the
// Redis keys, so that a key of any length or content maps to a fixed, safe name.
func KeyHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// Keys are the Redis names of one key on one volume. All share the hash tag
// {<volume-id>:<hash>}, so they live in one Cluster slot (the scripts touch
// several of them at once) while different paths spread over slots.
type Keys struct {
	Lock   string // the lease: SET NX PX <lease id>
	Token  string // the token handed to the current lease value (same TTL as Lock)
	Fence  string // the fencing counter (INCR), never expires
	Commit string // the committed record (JSON Version), set by the release script
	// Queue holds the waiting lease ids by arrival (sorted set, score = ms);
	// QueueExpiry their claim deadlines (sorted set, score = ms).
	Queue, QueueExpiry string
	// ReleaseChannel is the prefix of the key's release channels, one per
	// waiting locker (see WakeChannel); nothing is published on it alone.
	ReleaseChannel string
	// ChangeChannel carries an Event (JSON) when a release stores a committed version.
	ChangeChannel string
}

// Stored returns the names of the keys Redis stores for the key (not the
// channels): what a caller that made a key for a while (a benchmark, a probe)
// deletes afterwards. One hash tag: one DEL serves them.
func (k Keys) Stored() []string {
	return []string{k.Lock, k.Token, k.Fence, k.Commit, k.Queue, k.QueueExpiry}
}

// WakeChannel returns the release channel of the locker that made leaseID:
// ReleaseChannel + ":" + leaseID without its last "/" and what follows, that
// is "<host>/<pid>/<locker>" for a RedisLocker's lease id "<host>/<pid>/
// <locker>/<random>" (a lease id without "/" stands for itself). A release
// that leaves someone in line publishes there, so that only the first
// waiter's locker hears of it: the grant of the lease to that waiter, or its
// lease id alone (it then has the claim grace to take the lease before the
// next may). release.lua derives the same name.
func (k Keys) WakeChannel(leaseID string) string {
	if i := strings.LastIndexByte(leaseID, '/'); i >= 0 {
		leaseID = leaseID[:i]
	}
	return k.ReleaseChannel + ":" + leaseID
}

// braces would end the hash tag early and split a key's names over slots.
var tagEscaper = strings.NewReplacer("{", "%7B", "}", "%7D")

// keySuffixes end the names of Keys, in the order of its fields.
var keySuffixes = [...]string{"lock", "token", "fence", "commit", "queue", "qexp", "released", "changed"}

// RedisKeys returns the Redis key and channel names for key on the volume.
// Braces in the volume id are escaped (%7B, %7D) to keep the hash tag whole.
func RedisKeys(volumeID, key string) Keys {
	vol := tagEscaper.Replace(volumeID)
	sum := sha256.Sum256([]byte(key))
	var hash [2 * sha256.Size]byte
	hex.Encode(hash[:], sum[:])
	// Each name is "sw:{<volume id>:<hash>}:<suffix>". The names are
	// consecutive substrings of one string: one allocation for all of them
	// on every Acquire.
	var sb strings.Builder
	n := len(keySuffixes) * (len("sw:{:}:") + len(vol) + len(hash))
	for _, sfx := range keySuffixes {
		n += len(sfx)
	}
	sb.Grow(n)
	sb.WriteString("sw:{")
	sb.WriteString(vol)
	sb.WriteByte(':')
	sb.Write(hash[:])
	sb.WriteString("}:")
	p := sb.String() // the prefix, written once: a Builder's bytes never change
	var ends [len(keySuffixes)]int
	for i, sfx := range keySuffixes {
		if i > 0 {
			sb.WriteString(p)
		}
		sb.WriteString(sfx)
		ends[i] = sb.Len()
	}
	all := sb.String()
	name := func(i int) string {
		if i == 0 {
			return all[:ends[0]]
		}
		return all[ends[i-1]:ends[i]]
	}
	return Keys{
		Lock:           name(0),
		Token:          name(1),
		Fence:          name(2),
		Commit:         name(3),
		Queue:          name(4),
		QueueExpiry:    name(5),
		ReleaseChannel: name(6),
		ChangeChannel:  name(7),
	}
}

// Floor is the highest fencing token that has begun a commit on the volume,
// and the lease that held it.
type Floor struct {
	Token   uint64 `json:"token"`
	LeaseID string `json:"lease_id"`
}

// Bars reports whether the floor refuses a commit by the holder of token
// (with lease id): a higher token, or the same one taken by another lease.
// Token 0 (none taken yet) is barred by a higher token only.
func (f Floor) Bars(token uint64, id string) bool {
	return f.Token > token || f.Token == token && token != 0 && f.LeaseID != id
}

// Version describes one version of a file: who committed it, with which token,
// and what its content was. Token 0 means "no version".
type Version struct {
	Token      uint64    `json:"token"`
	LeaseID    string    `json:"lease_id"`
	SHA256     [32]byte  `json:"-"`
	Size       int64     `json:"size"`
	Length     int64     `json:"length"` // appends: the committed length
	Generation uint64    `json:"generation"`
	Deleted    bool      `json:"deleted"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Time       time.Time `json:"time"`
	Intent     string    `json:"intent,omitempty"`
}

// MarshalJSON writes the version with its sha256 as lowercase hex: the
// fields in the order of the struct (intent only when not empty), then
// sha256, each as encoding/json writes it. release.lua reads the token from
// the front of it ('^{"token":(%d+)[,}]').
func (v Version) MarshalJSON() ([]byte, error) {
	return v.appendJSON(make([]byte, 0, v.jsonSize()))
}

// appendJSON appends what MarshalJSON writes to b. It writes the bytes
// encoding/json writes for the version's fields, without its reflection:
// the release stores and publishes a version on every committed write.
func (v *Version) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"token":`...)
	b = strconv.AppendUint(b, v.Token, 10)
	b = append(b, `,"lease_id":`...)
	b = appendJSONString(b, v.LeaseID)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, v.Size, 10)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, v.Length, 10)
	b = append(b, `,"generation":`...)
	b = strconv.AppendUint(b, v.Generation, 10)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, v.Deleted)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, v.Host)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(v.PID), 10)
	b = append(b, `,"time":"`...)
	// AppendText writes what time.Time.MarshalJSON writes between its
	// quotes, and refuses the same times (a year outside 0..9999, a zone
	// offset of a day or more).
	b, err := v.Time.AppendText(b)
	if err != nil {
		// The error encoding/json returns for it.
		_, err = v.Time.MarshalJSON()
		return nil, &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
	}
	b = append(b, '"')
	if v.Intent != "" {
		b = append(b, `,"intent":`...)
		b = appendJSONString(b, v.Intent)
	}
	b = append(b, `,"sha256":"`...)
	b = hex.AppendEncode(b, v.SHA256[:])
	return append(b, `"}`...), nil
}

// jsonSize is the length of MarshalJSON's output when no string needs
// escapes, at most.
func (v *Version) jsonSize() int {
	const fixed = len(`{"token":,"lease_id":"","size":,"length":,"generation":,"deleted":false,"host":"","pid":,"time":"","intent":"","sha256":""}`) +
		5*len("-9223372036854775808") + len("-10000-01-02T15:04:05.999999999-07:00") + 2*sha256.Size
	return fixed + len(v.LeaseID) + len(v.Host) + len(v.Intent)
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// one (with its HTML escaping): '"' and '\\' escaped; '\b', '\f', '\n',
// '\r' and '\t' by name, the other control characters and '<', '>' and
// '&' as \u00XX; bytes that are not UTF-8 each as \ufffd; U+2028 and
// U+2029 as \u2028 and \u2029 (JSONP breaks on them); the rest as is.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Version) UnmarshalJSON(b []byte) error {
	type plain Version
	var x struct {
		plain
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*v = Version(x.plain)
	if x.SHA256 != "" {
		h, err := hex.DecodeString(x.SHA256)
		if err != nil || len(h) != 32 {
			return &Error{Op: "decode version", Err: ErrCorruptRecord}
		}
		copy(v.SHA256[:], h)
	}
	return nil
}

// Record is the lock record kept in each key's lock file (see FORMAT.md).
type Record struct {
	Floor     Floor
	Pending   Version
	Committed Version
}

// Event is the change event published on Keys.ChangeChannel: the path and the
// version a release made visible, as one flat JSON object.
type Event struct {
	Path string `json:"path"`
	Version
}

// MarshalJSON flattens the version's fields next to "path".
func (e Event) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(`{"path":,`)+len(e.Path)+e.Version.jsonSize())
	b = append(b, `{"path":`...)
	b = appendJSONString(b, e.Path)
	n := len(b)
	// The version's object without its "{", after a ",".
	b, err := e.Version.appendJSON(b)
	if err != nil {
		return nil, err
	}
	b[n] = ','
	return b, nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	var p struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	e.Path = p.Path
	return e.Version.UnmarshalJSON(b)
}
