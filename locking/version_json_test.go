package locking

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// referenceVersionJSON is how Version.MarshalJSON wrote a version with
// encoding/json (a wrapper struct adding the hex sha256): the bytes stored
// in Redis and published, which the writing by hand must keep.
func referenceVersionJSON(v Version) ([]byte, error) {
	type plain Version
	return json.Marshal(struct {
		plain
		SHA256 string `json:"sha256"`
	}{plain(v), hex.EncodeToString(v.SHA256[:])})
}

// referenceEventJSON is the change event as it was written: the version's
// object with "path" (encoding/json) in front.
func referenceEventJSON(path string, v Version) ([]byte, error) {
	vb, err := referenceVersionJSON(v)
	if err != nil {
		return nil, err
	}
	pb, err := json.Marshal(path)
	if err != nil {
		return nil, err
	}
	return append(append(append([]byte(`{"path":`), pb...), ','), vb[1:]...), nil
}

// nastyPieces make strings that exercise every escape encoding/json makes.
var nastyPieces = []string{
	"web-1", "a", "Z", " ", "~", "\x7f", `"`, `\`, `\"`, "/", "<", ">", "&", "<script>", "&amp;",
	"\x00", "\x01", "\b", "\f", "\n", "\r", "\t", "\x0b", "\x1b", "\x1f",
	"é", "漢字", "🙂", "\u2028", "\u2029", "\u2027", "\u202a", "\ufffd", "\u00a0", "\u200b",
	"\x80", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x99",
}

func nastyString(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(6); n > 0; n-- {
		if r.IntN(4) == 0 {
			b.WriteByte(byte(r.IntN(256))) // any byte at all
			continue
		}
		b.WriteString(nastyPieces[r.IntN(len(nastyPieces))])
	}
	return b.String()
}

func randomTime(r *rand.Rand) time.Time {
	switch r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Now()
	}
	// Years 0 to 9999, nanoseconds with any number of trailing zeros.
	min, max := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()
	ns := r.Int64N(1e9)
	ns -= ns % int64(math.Pow10(r.IntN(10)))
	t := time.Unix(min+r.Int64N(max-min), ns)
	switch r.IntN(3) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("odd", r.IntN(2*86399)-86399)) // seconds too
	}
	return t.In(time.Local)
}

func randomVersion(r *rand.Rand) Version {
	ints := []int64{0, 1, -1, 9, 10, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32}
	pick := func() int64 {
		if r.IntN(2) == 0 {
			return ints[r.IntN(len(ints))]
		}
		return r.Int64() >> r.IntN(64)
	}
	v := Version{
		Token:      r.Uint64() >> r.IntN(65),
		LeaseID:    nastyString(r),
		Size:       pick(),
		Length:     pick(),
		Generation: []uint64{0, 1, math.MaxUint64, r.Uint64()}[r.IntN(4)],
		Deleted:    r.IntN(2) == 0,
		Host:       nastyString(r),
		PID:        int(pick()),
		Time:       randomTime(r),
	}
	if r.IntN(2) == 0 {
		v.Intent = nastyString(r)
	}
	if r.IntN(4) != 0 {
		for i := range v.SHA256 {
			v.SHA256[i] = byte(r.IntN(256))
		}
	}
	return v
}

// checkVersionJSON compares MarshalJSON, json.Marshal of the version, the
// change event and the release's arguments with the reference encoding.
func checkVersionJSON(t *testing.T, v Version, path string) {
	t.Helper()
	want, wantErr := referenceVersionJSON(v)
	got, err := v.MarshalJSON()
	if wantErr != nil {
		var me *json.MarshalerError
		if err == nil || err.Error() != wantErr.Error() || !errors.As(err, &me) || me.Type != reflect.TypeFor[time.Time]() {
			t.Fatalf("MarshalJSON(%#v) = %q, %v; want error %v", v, got, err, wantErr)
		}
		if _, err := newReleasedVersion(&v, path, "ch"); err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("newReleasedVersion(%#v): %v; want error %v", v, err, wantErr)
		}
		return
	}
	if err != nil || string(got) != string(want) {
		t.Fatalf("MarshalJSON(%#v)\n got %q, %v\nwant %q", v, got, err, want)
	}
	if viaJSON, err := json.Marshal(v); err != nil || string(viaJSON) != string(want) {
		t.Fatalf("json.Marshal(%#v)\n got %q, %v\nwant %q", v, viaJSON, err, want)
	}
	wantEvent, err := referenceEventJSON(path, v)
	if err != nil {
		t.Fatal(err)
	}
	if gotEvent, err := (Event{Path: path, Version: v}).MarshalJSON(); err != nil || string(gotEvent) != string(wantEvent) {
		t.Fatalf("Event{%q, %#v}.MarshalJSON()\n got %q, %v\nwant %q", path, v, gotEvent, err, wantEvent)
	}
	rv, err := newReleasedVersion(&v, path, "ch")
	if err != nil {
		t.Fatal(err)
	}
	if wantRV := (releasedVersion{json: string(want), token: strconv.FormatUint(v.Token, 10), channel: "ch", event: string(wantEvent)}); *rv != wantRV {
		t.Fatalf("newReleasedVersion(%#v, %q)\n got %q\nwant %q", v, path, *rv, wantRV)
	}
	// release.lua finds the stored record's token with this pattern.
	if m := luaTokenPattern.FindStringSubmatch(string(got)); m == nil || m[1] != strconv.FormatUint(v.Token, 10) {
		t.Fatalf("MarshalJSON(%#v) = %q: release.lua reads token %q; want %d", v, got, m, v.Token)
	}
}

// luaTokenPattern is release.lua's '^{"token":(%d+)[,}]'.
var luaTokenPattern = regexp.MustCompile(`^\{"token":([0-9]+)[,}]`)

func TestVersionMarshalJSONWritesWhatEncodingJSONWrote(t *testing.T) {
	at := time.Date(2024, 11, 22, 10, 4, 5, 123456000, time.FixedZone("", 5*3600+45*60))
	cases := map[string]Version{
		"zero":            {},
		"typical":         {Token: 42, LeaseID: "web-1/4211/0a1b2c3d/0123456789abcdef", Size: 1234, Length: 1234, Generation: 3, Host: "web-1", PID: 4211, Time: at, SHA256: [32]byte{1, 2, 0xff}},
		"deleted, intent": {Token: 7, Deleted: true, Intent: "tx:abc", Time: at.UTC()},
		"html":            {Token: 1, LeaseID: "<a href='x'>&amp;</a>", Host: "a&b<c>d", Intent: "<>&"},
		"quotes":          {Token: 1, LeaseID: `he said "hi"`, Host: `C:\dir\"x"\`, Intent: `\u0041`},
		"controls":        {Token: 1, LeaseID: "\x00\x01\x02\x07\b\t\n\x0b\f\r\x0e\x1b\x1f\x7f", Host: "tab\there"},
		"not UTF-8":       {Token: 1, LeaseID: "\xff\xfe\x80abc\xc3", Host: "\xed\xa0\x80\xc0\xaf", Intent: "\xf0\x9f\x99"},
		"separators":      {Token: 1, LeaseID: "a\u2028b\u2029c", Host: "\u2027\u202a\ufffd"},
		"multibyte":       {Token: 1, LeaseID: "é漢字🙂", Host: "Ωmega"},
		"extremes":        {Token: math.MaxUint64, Size: math.MinInt64, Length: math.MaxInt64, Generation: math.MaxUint64, PID: -1},
		"year 0":          {Token: 1, Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year 9999":       {Token: 1, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(23*3600+59*60)))},
		"year -1":         {Token: 1, Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year 10000":      {Token: 1, Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"zone of 24h":     {Token: 1, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))},
		"zone of 100h":    {Token: 1, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", -100*3600))},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			checkVersionJSON(t, v, "dir/"+name+".json")
		})
	}
	t.Run("generated", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
		for range 20000 {
			checkVersionJSON(t, randomVersion(r), nastyString(r))
		}
	})
}

func FuzzVersionMarshalJSON(f *testing.F) {
	f.Add(uint64(1), "web-1/1/a/b", "web-1", "", "k", int64(0), 1, int64(0))
	f.Add(uint64(0), "<\"\\\x00\u2028\xff>", "&", "\x7f", "\xc3", int64(-1), -5, int64(1e18))
	f.Fuzz(func(t *testing.T, token uint64, id, host, intent, path string, size int64, pid int, unixNano int64) {
		v := Version{Token: token, LeaseID: id, Host: host, Intent: intent, Size: size, Length: -size, PID: pid, Time: time.Unix(0, unixNano).UTC()}
		checkVersionJSON(t, v, path)
	})
}

// TestVersionJSONRoundTrips reads MarshalJSON's output back with
// UnmarshalJSON (strings in UTF-8: encoding/json replaces what is not).
func TestVersionJSONRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	for range 5000 {
		v := randomVersion(r)
		v.LeaseID, v.Host, v.Intent = strings.ToValidUTF8(v.LeaseID, "x"), strings.ToValidUTF8(v.Host, "x"), strings.ToValidUTF8(v.Intent, "x")
		if _, off := v.Time.Zone(); off%60 != 0 {
			v.Time = v.Time.UTC() // RFC 3339 has no seconds in a zone offset
		}
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var got Version
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatalf("UnmarshalJSON(%q): %v", b, err)
		}
		if !got.Time.Equal(v.Time) {
			t.Fatalf("UnmarshalJSON(%q).Time = %v; want %v", b, got.Time, v.Time)
		}
		got.Time = v.Time
		if got != v {
			t.Fatalf("UnmarshalJSON(%q)\n got %#v\nwant %#v", b, got, v)
		}
		var ev Event
		eb, err := (Event{Path: v.Host, Version: v}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.UnmarshalJSON(eb); err != nil || ev.Path != v.Host || ev.Token != v.Token || ev.SHA256 != v.SHA256 {
			t.Fatalf("Event.UnmarshalJSON(%q) = %#v, %v; want path %q, token %d", eb, ev, err, v.Host, v.Token)
		}
	}
	if !utf8.ValidString(string(must(Version{LeaseID: "\xff"}.MarshalJSON()))) {
		t.Fatal("MarshalJSON wrote bytes that are not UTF-8")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestReleaseStoresAndPublishesVersionAsEncodingJSONWrote releases leases
// with committed versions full of escapes on a real Redis: the record
// stored and the change event published are the reference bytes, the
// release script reads their token (a later release with a lower token
// leaves the record alone), and the next lease decodes the record.
func TestReleaseStoresAndPublishesVersionAsEncodingJSONWrote(t *testing.T) {
	c := testClient(t, needRedis(t).Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	t.Cleanup(func() { l.Close() })
	ctx := ctxTimeout(t, 10*time.Second)
	const key = "dir/<&\"quoted\">\u2028\xff.json"
	keys := l.Keys(key)
	sub := c.Subscribe(ctx, keys.ChangeChannel)
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatalf("subscribe %s: %v", keys.ChangeChannel, err)
	}
	at := time.Date(2024, 2, 29, 23, 59, 59, 100, time.FixedZone("", -(3*3600+30*60)))
	release := func(v Version) {
		t.Helper()
		le, err := l.Acquire(ctx, key, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := le.Release(ctx, &v, key); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range []Version{
		{Token: 9, LeaseID: "h/1/x/<\"\\>", Size: -3, Generation: 2, Host: "h\x00\t\"\\<>&\u2029\xc3", PID: 77, Time: at, Intent: "i\n"},
		{Token: 12, LeaseID: "\xff\xfe", Deleted: true, Host: "é漢🙂", Time: at.UTC(), SHA256: [32]byte{0xde, 0xad}},
	} {
		release(v)
		want, err := referenceVersionJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(ctx, keys.Commit).Result(); err != nil || got != string(want) {
			t.Fatalf("release %d: GET %s = %q, %v; want %q", i, keys.Commit, got, err, want)
		}
		wantEvent, err := referenceEventJSON(key, v)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil || msg.Payload != string(wantEvent) {
			t.Fatalf("release %d: event %q, %v; want %q", i, msg.Payload, err, wantEvent)
		}
	}
	stored, err := c.Get(ctx, keys.Commit).Result()
	if err != nil {
		t.Fatal(err)
	}
	release(Version{Token: 10, LeaseID: "older", Time: at})
	if got, err := c.Get(ctx, keys.Commit).Result(); err != nil || got != stored {
		t.Fatalf("after a release with token 10: GET %s = %q, %v; want token 12's %q kept", keys.Commit, got, err, stored)
	}
	le, err := l.Acquire(ctx, key, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Release(ctx, nil, key)
	v, ok := le.Committed()
	if !ok || !v.Time.Equal(at) {
		t.Fatalf("Committed() = %#v, %v; want the version of token 12, at %v", v, ok, at)
	}
	v.Time = time.Time{}
	// encoding/json decodes bytes that are not UTF-8 as U+FFFD.
	if want := (Version{Token: 12, LeaseID: "\ufffd\ufffd", Deleted: true, Host: "é漢🙂", SHA256: [32]byte{0xde, 0xad}}); v != want {
		t.Fatalf("Committed() = %#v; want %#v", v, want)
	}
}
