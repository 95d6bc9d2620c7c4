package locking

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
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

// RedisKeys returns the Redis key and channel names for key on the volume.
// Braces in the volume id are escaped (%7B, %7D) to keep the hash tag whole.
func RedisKeys(volumeID, key string) Keys {
	p := "sw:{" + tagEscaper.Replace(volumeID) + ":" + KeyHash(key) + "}:"
	// The names are consecutive substrings of one string: one allocation
	// instead of eight on every Acquire.
	all := p + "lock" + p + "token" + p + "fence" + p + "commit" + p + "queue" + p + "qexp" + p + "released" + p + "changed"
	next := func(suffix string) string {
		n := len(p) + len(suffix)
		name := all[:n]
		all = all[n:]
		return name
	}
	return Keys{
		Lock:           next("lock"),
		Token:          next("token"),
		Fence:          next("fence"),
		Commit:         next("commit"),
		Queue:          next("queue"),
		QueueExpiry:    next("qexp"),
		ReleaseChannel: next("released"),
		ChangeChannel:  next("changed"),
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

// MarshalJSON writes the version with its sha256 as lowercase hex.
func (v Version) MarshalJSON() ([]byte, error) {
	type plain Version
	return json.Marshal(struct {
		plain
		SHA256 string `json:"sha256"`
	}{plain(v), hex.EncodeToString(v.SHA256[:])})
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
	vb, err := e.Version.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return eventJSON(e.Path, vb)
}

// eventJSON puts "path" in front of the fields of vb, a version's JSON object.
func eventJSON(path string, vb []byte) ([]byte, error) {
	pb, err := json.Marshal(path)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(`{"path":,`)+len(pb)+len(vb))
	out = append(out, `{"path":`...)
	out = append(out, pb...)
	out = append(out, ',')
	return append(out, vb[1:]...), nil
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
